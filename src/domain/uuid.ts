/**
 * What counts as an id in a URL, a token or a frame: an RFC 9562 UUID (versions 1-8, variant bits 10) or the nil
 * UUID. Never looser than the `uuid` rule of the actions' params (fastest-validator), so an id checked here passes
 * there too. No imports: the browser client uses it too.
 */
const UUID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12})$/i;

export const isUuid = (value: unknown): value is string => typeof value === "string" && UUID.test(value);
