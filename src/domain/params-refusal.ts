/**
 * A request its params schema let through that a rule the schema cannot express refuses (422): the detail and the
 * field errors in the validator's own shape, for `ValidationFailed` (src/errors.ts) to throw.
 */
export interface ParamsRefusal {
	detail: string;
	errors: { type: string; field: string; message: string }[];
}
