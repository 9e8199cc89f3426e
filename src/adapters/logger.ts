/**
 * The broker's logger: Moleculer's Console logger with every line redacted (src/domain/log-redaction.ts), pretty
 * (Moleculer's "short" format) or one JSON object per line:
 *   {"ts":"2026-11-24T20:44:12.366Z","level":"warn","nodeID":"dispatcher-7f9c","ns":"cameo","mod":"dispatcher",
 *    "svc":"dispatcher","msg":"Delivery failed: ...","session_id":"dfb9…","message_id":"c11e…"}
 * A call whose first argument is a plain object followed by the message logs that object's entries as fields of the
 * line (pino's convention): `this.logger.warn({ session_id, message_id }, "Delivery failed:", err.message)`. Pretty
 * lines print them after the message as `key=value`.
 */
import util from "node:util";
import { Loggers, type LoggerBindings } from "moleculer";
import type { LogFormat } from "../config.js";
import { redactText, redactValue } from "../domain/log-redaction.js";

type Formatter = (type: string, args: unknown[]) => unknown[];

// Moleculer's typings declare only the base logger class.
const ConsoleLogger = (
	Loggers as unknown as {
		Console: new (opts: object) => Loggers.Base & { getFormatter(bindings: LoggerBindings): Formatter };
	}
).Console;

/** Keys of the line itself, which a call's fields may not overwrite. */
const RESERVED = new Set(["ts", "level", "msg", "nodeID", "ns", "mod", "svc", "ver"]);

export interface RedactingLoggerOptions {
	level: string;
	format: LogFormat;
	/** Exact values to mask wherever they appear (`configuredSecrets`). */
	secrets: string[];
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** `[{ session_id }, "text", err]` -> fields `{ session_id }` and the rest; no fields unless text follows the object. */
function splitFields(args: unknown[]): { fields: Record<string, unknown> | undefined; rest: unknown[] } {
	const [first, second] = args;
	return isPlainObject(first) && typeof second === "string"
		? { fields: first, rest: args.slice(1) }
		: { fields: undefined, rest: args };
}

/** Objects are printed here, without colours, so the text pass sees what gets written (Moleculer prints them alike). */
const printObject = (value: unknown) => util.inspect(value, { depth: 2, colors: false, breakLength: Infinity });

export class RedactingConsoleLogger extends ConsoleLogger {
	private readonly format: LogFormat;
	private readonly secrets: string[];

	constructor(opts: RedactingLoggerOptions) {
		super({ level: opts.level, formatter: "short", colors: opts.format === "pretty", moduleColors: false });
		this.format = opts.format;
		this.secrets = opts.secrets;
	}

	getFormatter(bindings: LoggerBindings): Formatter {
		const text = (arg: unknown) =>
			redactText(
				typeof arg === "object" && arg !== null ? printObject(redactValue(arg, this.secrets)) : String(arg ?? ""),
				this.secrets,
			);
		if (this.format === "json") {
			return (type, args) => {
				const { fields, rest } = splitFields(args);
				const extra = Object.entries(redactValue(fields ?? {}, this.secrets) as Record<string, unknown>).filter(
					([key]) => !RESERVED.has(key),
				);
				return [
					JSON.stringify({
						ts: new Date().toISOString(),
						level: type,
						...bindings,
						msg: rest.map(text).join(" "),
						...Object.fromEntries(extra),
					}),
				];
			};
		}
		const pretty = super.getFormatter(bindings);
		return (type, args) => {
			const { fields, rest } = splitFields(args);
			const suffix = Object.entries(redactValue(fields ?? {}, this.secrets) as Record<string, unknown>).map(
				([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`,
			);
			return pretty(type, [...rest.map(text), ...suffix]);
		};
	}
}
