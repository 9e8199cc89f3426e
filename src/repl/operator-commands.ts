/**
 * Operator commands for moleculer-repl, registered through the broker option `replCommands`: `npm run repl` joins a
 * running cluster with them, `npm start -- --repl` opens them on an embedded node. Each one checks its arguments,
 * calls src/repl/operations.ts and prints a table, or its usage when the arguments are wrong.
 */
import type { ServiceBroker } from "moleculer";
import type { Config } from "../config.js";
import type { CharacterView } from "../domain/characters.js";
import { isUuid } from "../domain/uuid.js";
import type { UserView } from "../domain/accounts.js";
import * as ops from "./operations.js";

export interface ReplArgs {
	/** Every word after the command's name, in order (the declared options taken out). */
	words: string[];
	/** The declared options, as typed. */
	options: Record<string, string | undefined>;
}

/** The part of moleculer-repl's helpers the commands use (`table` is the `table` package's). */
export interface ReplHelpers {
	table(rows: unknown[][]): string;
}

/** moleculer-repl's custom command shape. */
export interface OperatorCommand {
	command: string;
	description: string;
	options: { option: string; description: string }[];
	parse(this: unknown, cmd: ParsedCommand): void;
	action(broker: ServiceBroker, args: ReplArgs, helpers: ReplHelpers): Promise<void>;
}

/** The part of the commander (9) Command that moleculer-repl hands to `parse`. */
interface ParsedCommand {
	args: string[];
	opts(): Record<string, unknown>;
	params?: ReplArgs;
}

interface Output {
	table(header: string[], rows: unknown[][]): void;
	line(text: string): void;
}

interface Definition {
	command: string;
	description: string;
	usage: string[];
	options?: [option: string, description: string][];
	run(broker: ServiceBroker, args: ReplArgs, out: Output): Promise<void>;
}

class UsageError extends Error {}

/**
 * moleculer-repl's own parsing keeps one word per declared argument: `say <id> hello there` would lose "there".
 * This hands the action every word instead.
 */
function parse(this: unknown, cmd: ParsedCommand): void {
	cmd.params = { words: [...cmd.args], options: { ...(cmd.opts() as ReplArgs["options"]) } };
}

function define(def: Definition): OperatorCommand {
	return {
		command: def.command,
		description: def.description,
		options: (def.options ?? []).map(([option, description]) => ({ option, description })),
		parse,
		async action(broker, args, helpers) {
			const out: Output = {
				table: (header, rows) => console.log(helpers.table([header, ...rows.map((row) => row.map(cell))])),
				line: (text) => console.log(text),
			};
			try {
				await def.run(broker, args, out);
			} catch (err) {
				if (err instanceof UsageError)
					out.line(def.usage.map((u, i) => `${i === 0 ? "Usage:" : "      "} ${u}`).join("\n"));
				else out.line(`Error: ${(err as Error).message}`);
			}
		},
	};
}

function cell(value: unknown): string {
	if (value === null || value === undefined) return "-";
	if (typeof value === "boolean") return value ? "yes" : "no";
	if (typeof value === "number") return String(Number(value.toFixed(2)));
	return String(value);
}

function expectWords(args: ReplArgs, count: number): string[] {
	if (args.words.length !== count) throw new UsageError();
	return args.words;
}

/** A positive integer option, or undefined when not given. */
function positiveInt(value: string | undefined): number | undefined {
	if (value === undefined) return undefined;
	if (!/^[1-9]\d*$/.test(value)) throw new UsageError();
	return Number(value);
}

function uuid(word: string | undefined): string {
	if (!isUuid(word)) throw new UsageError();
	return word;
}

function channelKey(word: string | undefined): ops.ChannelKey {
	if (!ops.CHANNEL_KEYS.includes(word as ops.ChannelKey)) throw new UsageError();
	return word as ops.ChannelKey;
}

const userRow = (u: UserView) => [u.username, u.name, u.role, u.is_disabled, u.created_at];
const USER_HEADER = ["Username", "Name", "Role", "Disabled", "Created"];
const characterRow = (c: CharacterView) => [c.id, c.name, c.slug, c.is_public, c.is_active];
const CHARACTER_HEADER = ["ID", "Name", "Slug", "Public", "Active"];

export function operatorCommands(config: Config): OperatorCommand[] {
	return [
		define({
			command: "sessions",
			description: "Open chat sockets on every chat-ws node",
			usage: ["sessions [--user <username>]"],
			options: [["--user <username>", "Only this user's sockets"]],
			async run(broker, args, out) {
				expectWords(args, 0);
				const { nodes, sockets, failures } = await ops.listSockets(broker, args.options.user);
				if (nodes.length === 0) return out.line("No chat-ws node is running.");
				if (sockets.length > 0) {
					out.table(
						["Node", "Session", "User", "Character", "Connected since"],
						sockets.map((s) => [s.node_id, s.session_id, s.username, s.character_id, s.connected_at]),
					);
				}
				out.line(`${sockets.length} socket(s) on ${nodes.length} chat-ws node(s)`);
				for (const f of failures) out.line(`${f.node_id} did not answer: ${f.error}`);
			},
		}),

		define({
			command: "queues",
			description: "Depth and consumers of the chat queues and dead-letter queues (RabbitMQ)",
			usage: ["queues"],
			async run(_broker, args, out) {
				expectWords(args, 0);
				const depths = await ops.queueStatus(config);
				if (!depths) return out.line(ops.IN_PROCESS_CHANNELS);
				out.table(
					["Queue", "Messages", "Consumers"],
					depths.map((d) => [d.queue, d.messages ?? "missing", d.consumers]),
				);
			},
		}),

		define({
			command: "dlq [action] [queue]",
			description: "Replay or purge a dead-letter queue: user (chat.user.msg) or ai (chat.ai.msg)",
			usage: ["dlq replay <user|ai> [--limit <n>]", "dlq purge <user|ai>"],
			options: [["--limit <n>", "Replay at most n messages (default: all)"]],
			async run(_broker, args, out) {
				const [action, key] = expectWords(args, 2);
				if (action === "replay") {
					const { from, to, moved } = await ops.replayDeadLetters(
						config,
						channelKey(key),
						positiveInt(args.options.limit),
					);
					return out.table(["From", "To", "Replayed"], [[from, to, moved]]);
				}
				if (action !== "purge" || args.options.limit !== undefined) throw new UsageError();
				const { queue, purged } = await ops.purgeDeadLetters(config, channelKey(key));
				out.table(["Queue", "Purged"], [[queue, purged]]);
			},
		}),

		define({
			command: "user [action] [username]",
			description: "List users; disable, enable or promote (to admin) one",
			usage: ["user list [--q <text>]", "user disable <username>", "user enable <username>", "user promote <username>"],
			options: [["--q <text>", "Only users whose username or name contains text"]],
			async run(broker, args, out) {
				const [action, username] = args.words;
				if (action === "list") {
					expectWords(args, 1);
					const users = await ops.listUsers(broker, args.options.q);
					if (users.length === 0) return out.line("No users found.");
					return out.table(USER_HEADER, users.map(userRow));
				}
				expectWords(args, 2);
				if (args.options.q !== undefined) throw new UsageError();
				let user: UserView;
				if (action === "disable" || action === "enable")
					user = await ops.setUserDisabled(broker, username, action === "disable");
				else if (action === "promote") user = await ops.promoteUser(broker, username);
				else throw new UsageError();
				out.table(USER_HEADER, [userRow(user)]);
			},
		}),

		define({
			command: "character [action] [arg]",
			description: "Add a character, import one from a card file (JSON or PNG), or disable one",
			usage: [
				"character add --owner <username> --name <name> --prompt <system prompt> [--greeting <text>]",
				"character import <file> --owner <username>",
				"character disable <id>",
			],
			options: [
				["--owner <username>", "The user who owns it"],
				["--name <name>", "Its name"],
				["--prompt <text>", "Its system prompt"],
				["--greeting <text>", "Its first message in a new chat"],
			],
			async run(broker, args, out) {
				const { owner, name, prompt, greeting } = args.options;
				const [action, arg] = args.words;
				let character: CharacterView;
				if (action === "add" && args.words.length === 1 && owner && name && prompt) {
					character = await ops.addCharacter(broker, { owner, name, prompt, greeting });
				} else if (action === "import" && args.words.length === 2 && owner && !name && !prompt && !greeting) {
					character = await ops.importCharacter(broker, arg, owner);
				} else if (action === "disable" && args.words.length === 2 && !owner && !name && !prompt && !greeting) {
					character = await ops.disableCharacter(broker, uuid(arg));
				} else throw new UsageError();
				out.table(CHARACTER_HEADER, [characterRow(character)]);
			},
		}),

		define({
			command: "kick [session_id]",
			description: "Close a chat session's sockets on every chat-ws node",
			usage: ["kick <session_id>"],
			async run(broker, args, out) {
				const sessionId = uuid(expectWords(args, 1)[0]);
				const { nodes, results, failures, total } = await ops.kickSession(broker, sessionId);
				if (nodes.length === 0) return out.line("No chat-ws node is running.");
				out.table(
					["Node", "Closed"],
					[...results.map((r) => [r.node_id, r.value]), ...failures.map((f) => [f.node_id, `failed: ${f.error}`])],
				);
				out.line(`Closed ${total} socket(s) of session ${sessionId}`);
			},
		}),

		define({
			command: "say [session_id] [text...]",
			description: "Post an operator message into a chat session",
			usage: ["say <session_id> <text...>"],
			async run(broker, args, out) {
				const [sessionId, ...words] = args.words;
				const text = words.join(" ").trim();
				if (!isUuid(sessionId) || !text) throw new UsageError();
				const { id, delivered } = await ops.sayInSession(broker, sessionId, text);
				out.table(["Message", "Session", "Sockets reached"], [[id, sessionId, delivered]]);
			},
		}),

		define({
			command: "stats",
			description: "Chat traffic of the last minutes (default 5), from PostgreSQL",
			usage: ["stats [--minutes <n>]"],
			options: [["--minutes <n>", "The window, in minutes"]],
			async run(broker, args, out) {
				expectWords(args, 0);
				const s = await ops.chatStats(broker, positiveInt(args.options.minutes));
				out.table(
					[`Last ${s.minutes} min`, "Value"],
					[
						["User messages / min", s.user_messages_per_minute],
						["Replies / min", s.replies_per_minute],
						["Reply latency p50 (ms)", s.latency_p50_ms],
						["Reply latency p99 (ms)", s.latency_p99_ms],
						["Tokens in", s.input_tokens],
						["Tokens out", s.output_tokens],
						["Failed replies", s.failed_replies],
					],
				);
			},
		}),
	];
}
