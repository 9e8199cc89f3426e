/**
 * Chats as files (issue 16): SillyTavern's JSONL, the format Agnai, RisuAI and others read and write, and cameo's
 * own full-fidelity JSON. Both directions are plain functions over plain data: the exporter gets a session's stored
 * messages and writes text; the importer reads text within fixed bounds and gives back turns for the store to insert.
 *
 * SillyTavern's format (src/endpoints/chats.js and `saveChat` in public/script.js of SillyTavern/SillyTavern): one
 * JSON object per line, joined by "\n" with none after the last. The first line is a header `{user_name,
 * character_name, create_date, chat_metadata}` (current versions write "unused" for both names); each other line is a
 * message `{name, is_user, is_system, send_date, mes, extra}`, a character's line with its regenerations as `swipes`,
 * the one shown as `swipe_id` (and `mes`), and their timing in `swipe_info`. `send_date` has been an ISO 8601 string,
 * a humanized string ("November 24, 2026 8:44pm") and epoch milliseconds over the versions.
 */
import { REPLY_MODES, type ReplyMode } from "./rooms.js";

export const CAMEO_CHAT_FORMAT = "cameo.chat";
export const CAMEO_CHAT_VERSION = 1;

/** Fixed bounds on one file; the byte and line caps are configuration (CHAT_IMPORT_MAX_MB, CHAT_IMPORT_MAX_MESSAGES). */
export const MAX_LINE_CHARS = 2 * 1024 * 1024;
export const MAX_IMPORTED_CONTENT_CHARS = 100_000;
/** Characters of an imported room's cast looked at (ROOM_MAX_CHARACTERS bounds what is kept). */
export const MAX_IMPORTED_CAST = 100;
export const MAX_SWIPES = 256;
export const MAX_EXTRA_DEPTH = 32;

export type ChatImportProblem = "empty" | "malformed" | "too_large";

/** A refused file: `line` (1-based) names the line at fault when there is one. */
export class ChatImportError extends Error {
	constructor(
		readonly problem: ChatImportProblem,
		message: string,
		readonly line?: number,
	) {
		super(message);
		this.name = "ChatImportError";
	}
}

/** What cameo has no column for, kept with a message (messages.extra): a line's other keys, `name`, `extra`, `swipe_info`. */
export type Leftover = Record<string, unknown>;

/** One reply's variants, or one user message, as the store inserts it. */
export interface ImportedVariant {
	content: string;
	created_at: Date;
	stopped?: boolean;
	edited_at?: Date | null;
	pinned?: boolean;
}

export interface ImportedTurn {
	role: "user" | "ai";
	variants: ImportedVariant[];
	/** Index into `variants` of the one shown. */
	active: number;
	/** Kept with the turn's first variant. */
	leftover: Leftover | null;
	/** Who said a reply, as a cameo export names it (a room's replies come from several characters). */
	character_id?: string;
}

/** A room as its cameo export describes it: the cast in order and who speaks when. */
export interface ImportedRoom {
	character_ids: string[];
	reply_mode: ReplyMode;
}

export interface ImportedChat {
	format: "sillytavern" | "cameo";
	title: string | null;
	chat_metadata: Record<string, unknown> | null;
	summary: string | null;
	persona_id: string | null;
	lorebook_ids: string[];
	/** Set when the file is a cameo export of a room; null for a one-character chat and for SillyTavern's files. */
	room: ImportedRoom | null;
	turns: ImportedTurn[];
}

export interface ImportLimits {
	maxMessages: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Dates

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
/** "November 24, 2026 8:44pm" (SillyTavern before 1.12; the writer's local time, read as UTC). */
const HUMANIZED = /^([a-z]{3})[a-z]*\.? (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2}))? ?([ap]m)?$/i;
/** "2026-11-24@20h44m09s" or "2026-11-24 @20h 44m 09s 123ms" (humanizedDateTime, file names and old headers). */
const HUMANIZED_NUMERIC = /^(\d{4})-(\d{1,2})-(\d{1,2}) ?@ ?(\d{1,2})h ?(\d{1,2})m ?(\d{1,2})s(?: ?(\d{1,3})ms)?$/;
const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31);

/** A `send_date` or `create_date` as any SillyTavern version wrote it, or null when it is none of them. */
export function parseSendDate(value: unknown): Date | null {
	if (typeof value === "number") return validTime(value);
	if (typeof value !== "string") return null;
	const text = value.trim();
	if (text.length === 0 || text.length > 64) return null;
	if (/^\d{9,16}$/.test(text)) return validTime(Number(text));
	const humanized = HUMANIZED.exec(text);
	if (humanized) {
		const month = MONTHS.indexOf(humanized[1].toLowerCase());
		let hours = Number(humanized[4]);
		const meridiem = humanized[7]?.toLowerCase();
		if (meridiem && (hours < 1 || hours > 12)) return null;
		if (meridiem === "pm" && hours < 12) hours += 12;
		if (meridiem === "am" && hours === 12) hours = 0;
		const [day, year, minutes, seconds] = [humanized[2], humanized[3], humanized[5], humanized[6] ?? "0"].map(Number);
		return month < 0 ? null : exactUtc(year, month, day, hours, minutes, seconds, 0);
	}
	const numeric = HUMANIZED_NUMERIC.exec(text);
	if (numeric) {
		const [year, month, day, hours, minutes, seconds, ms] = numeric.slice(1).map((part) => Number(part ?? 0));
		return exactUtc(year, month - 1, day, hours, minutes, seconds, ms);
	}
	// ISO 8601 (current versions): only a string that starts like a date, not whatever Date.parse guesses at.
	if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
	return validTime(Date.parse(text));
}

function validTime(ms: number): Date | null {
	return Number.isFinite(ms) && ms >= MIN_TIME && ms <= MAX_TIME ? new Date(Math.trunc(ms)) : null;
}

/** The date only if every part was in range (no "February 31" rolling over into March). */
function exactUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): Date | null {
	const date = new Date(Date.UTC(y, mo, d, h, mi, s, ms));
	const same = date.getUTCFullYear() === y && date.getUTCMonth() === mo && date.getUTCDate() === d;
	return same && h < 24 && mi < 60 && s < 60 ? validTime(date.getTime()) : null;
}

/** SillyTavern's humanizedDateTime, as its headers' `create_date`: "2026-11-24@20h44m09s" (UTC here). */
export function humanizedDateTime(date: Date): string {
	const pad = (n: number) => String(n).padStart(2, "0");
	return (
		`${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
		`@${pad(date.getUTCHours())}h${pad(date.getUTCMinutes())}m${pad(date.getUTCSeconds())}s`
	);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a file

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text PostgreSQL can store: lone surrogates become U+FFFD. (NUL characters are refused before.) */
function wellFormed(text: string): string {
	return text.replace(LONE_SURROGATE, "\ufffd");
}

/**
 * A copy of a parsed JSON value that PostgreSQL's jsonb and any serializer can hold: at most MAX_EXTRA_DEPTH deep
 * (walked without recursion), strings well formed. Throws a malformed-line error naming `line` otherwise.
 */
export function storableJson(value: unknown, line: number): unknown {
	const root: { v: unknown } = { v: undefined };
	const stack: { from: unknown; into: Record<string, unknown> | unknown[]; key: string | number; depth: number }[] = [
		{ from: value, into: root as unknown as Record<string, unknown>, key: "v", depth: 0 },
	];
	while (stack.length > 0) {
		const { from, into, key, depth } = stack.pop()!;
		if (depth > MAX_EXTRA_DEPTH)
			throw new ChatImportError("malformed", `Line ${line} is nested more than ${MAX_EXTRA_DEPTH} levels deep`, line);
		let copy: unknown = from;
		if (typeof from === "string") copy = wellFormed(from);
		else if (Array.isArray(from)) {
			const items: unknown[] = new Array(from.length);
			from.forEach((item, i) => stack.push({ from: item, into: items, key: i, depth: depth + 1 }));
			copy = items;
		} else if (from !== null && typeof from === "object") {
			const fields: Record<string, unknown> = {};
			// Pushed last to first, so that they are copied, and their keys made, in their order.
			for (const [k, v] of Object.entries(from).reverse()) {
				if (k === "__proto__") continue;
				stack.push({ from: v, into: fields, key: wellFormed(k), depth: depth + 1 });
			}
			copy = fields;
		}
		(into as Record<string | number, unknown>)[key] = copy;
	}
	return root.v;
}

/** The file's lines (1-based numbers), blank ones left out, refused past the caps before any is parsed. */
function linesOf(text: string, limits: ImportLimits): { text: string; number: number }[] {
	const lines: { text: string; number: number }[] = [];
	let number = 0;
	for (let start = 0; start <= text.length;) {
		const end = text.indexOf("\n", start);
		const stop = end < 0 ? text.length : end;
		number += 1;
		if (stop - start > MAX_LINE_CHARS)
			throw new ChatImportError("malformed", `Line ${number} is longer than ${MAX_LINE_CHARS} characters`, number);
		const line = text.slice(start, stop).replace(/\r$/, "");
		if (line.trim().length > 0) {
			// The header plus the messages.
			if (lines.length > limits.maxMessages)
				throw new ChatImportError("too_large", `The chat has more than ${limits.maxMessages} messages`);
			lines.push({ text: line, number });
		}
		if (end < 0) break;
		start = end + 1;
	}
	return lines;
}

function parseLine(text: string, number: number): unknown {
	if (text.includes("\u0000") || /\\u0000/i.test(text))
		throw new ChatImportError("malformed", `Line ${number} contains a NUL character`, number);
	try {
		return JSON.parse(text);
	} catch {
		throw new ChatImportError("malformed", `Line ${number} is not valid JSON`, number);
	}
}

function isObject(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Lines read between two pauses of `readChatFileInSlices`: a few milliseconds of work. */
export const LINES_PER_SLICE = 200;

/** Reads a chat file: SillyTavern JSONL (any version, or the minimal `{mes, is_user}` lines), or cameo's JSON export. */
export function parseChatFile(text: string, limits: ImportLimits): ImportedChat {
	const steps = chatFileSteps(text, limits);
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
	}
}

/**
 * `parseChatFile` a slice of lines at a time, letting the event loop run between slices (`pause`, e.g. setImmediate),
 * so a file of 10,000 lines never holds the process for longer than one slice.
 */
export async function readChatFileInSlices(
	text: string,
	limits: ImportLimits,
	pause: () => Promise<void>,
): Promise<ImportedChat> {
	const steps = chatFileSteps(text, limits);
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
		await pause();
	}
}

/** The reading, as steps: it yields after every LINES_PER_SLICE lines. */
function* chatFileSteps(text: string, limits: ImportLimits): Generator<void, ImportedChat> {
	if (text.trim().length === 0) throw new ChatImportError("empty", "The file is empty");
	const lines = linesOf(text.replace(/^\ufeff/, ""), limits);
	const first = lines[0];
	let head: unknown;
	try {
		head = JSON.parse(first.text);
	} catch {
		// Not one object on its first line: a pretty-printed cameo export, or a malformed line 1.
		const whole = tryWhole(text);
		if (isObject(whole) && whole.format === CAMEO_CHAT_FORMAT)
			return parseCameoChat(storableJson(whole, 1) as Record<string, unknown>, limits);
		return yield* parseSillyTavern(lines, limits);
	}
	if (isObject(head) && head.format === CAMEO_CHAT_FORMAT && lines.length === 1)
		return parseCameoChat(storableJson(parseLine(first.text, 1), 1) as Record<string, unknown>, limits);
	return yield* parseSillyTavern(lines, limits);
}

function tryWhole(text: string): unknown {
	if (text.includes("\u0000") || /\\u0000/i.test(text)) return undefined;
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

const MESSAGE_KEYS = new Set(["is_user", "is_system", "send_date", "mes", "swipes", "swipe_id"]);

function* parseSillyTavern(
	lines: { text: string; number: number }[],
	limits: ImportLimits,
): Generator<void, ImportedChat> {
	const chat: ImportedChat = {
		format: "sillytavern",
		title: null,
		chat_metadata: null,
		summary: null,
		persona_id: null,
		lorebook_ids: [],
		room: null,
		turns: [],
	};
	// A line without a date takes the one before it; the first, the time of the import.
	let last = new Date();
	for (const [index, { text, number }] of lines.entries()) {
		if (index > 0 && index % LINES_PER_SLICE === 0) yield;
		const line = storableJson(parseLine(text, number), number);
		if (!isObject(line)) throw new ChatImportError("malformed", `Line ${number} is not a JSON object`, number);
		if (index === 0 && !("mes" in line)) {
			if (isObject(line.chat_metadata)) chat.chat_metadata = line.chat_metadata;
			continue;
		}
		if (line.is_system === true) continue;
		const turn = sillyTavernTurn(line, number, last);
		last = turn.variants[turn.active].created_at;
		chat.turns.push(turn);
	}
	if (chat.turns.length === 0) throw new ChatImportError("empty", "The file has no messages");
	if (chat.turns.length > limits.maxMessages)
		throw new ChatImportError("too_large", `The chat has more than ${limits.maxMessages} messages`);
	return chat;
}

function sillyTavernTurn(line: Record<string, unknown>, number: number, previous: Date): ImportedTurn {
	const bad = (what: string) => new ChatImportError("malformed", `Line ${number}: ${what}`, number);
	if (typeof line.mes !== "string") throw bad("`mes` must be a string");
	if (line.is_user !== undefined && typeof line.is_user !== "boolean") throw bad("`is_user` must be true or false");
	if (line.name !== undefined && typeof line.name !== "string") throw bad("`name` must be a string");
	if (line.extra !== undefined && !isObject(line.extra)) throw bad("`extra` must be an object");
	const role = line.is_user ? "user" : "ai";
	const created_at = parseSendDate(line.send_date) ?? previous;
	const leftover: Leftover = {};
	for (const [key, value] of Object.entries(line)) if (!MESSAGE_KEYS.has(key)) leftover[key] = value;
	let swipes = [line.mes];
	let active = 0;
	if (line.swipes !== undefined) {
		const { swipes: given, swipe_id: id } = line;
		if (!Array.isArray(given) || given.length === 0 || given.length > MAX_SWIPES)
			throw bad(`\`swipes\` must be a list of 1 to ${MAX_SWIPES} texts`);
		if (!given.every((s) => typeof s === "string")) throw bad("every swipe must be a string");
		const index = id === undefined ? 0 : id;
		if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= given.length)
			throw bad("`swipe_id` must be the index of one of the swipes");
		if (role === "ai") {
			swipes = [...(given as string[])];
			// `mes` is what was shown: a swipe edited in place differs from its entry in `swipes`.
			swipes[index] = line.mes;
			active = index;
		} else {
			// A user line's swipes are kept as they were, not made variants (only replies have those here).
			Object.assign(leftover, { swipes: given, swipe_id: index });
		}
	}
	for (const text of swipes)
		if (text.length > MAX_IMPORTED_CONTENT_CHARS)
			throw bad(`a message is over ${MAX_IMPORTED_CONTENT_CHARS} characters`);
	const info = Array.isArray(line.swipe_info) ? line.swipe_info : [];
	const variants = swipes.map((content, i) => {
		const at =
			i === active ? created_at : (parseSendDate((info[i] as { send_date?: unknown })?.send_date) ?? created_at);
		return { content, created_at: at };
	});
	return { role, variants, active, leftover: Object.keys(leftover).length > 0 ? leftover : null };
}

// ---------------------------------------------------------------------------------------------------------------
// cameo's own form

/** A message as cameo's JSON export lists it (every variant, in the session's order). */
export interface CameoExportMessage {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	character_id: string;
	/** Who said it: the character's name, or the person's persona (or display) name. */
	name: string;
	username: string;
	variant: number;
	active: boolean;
	stopped: boolean;
	model: string | null;
	created_at: string;
	edited_at: string | null;
	pinned: boolean;
	extra: Leftover | null;
}

export interface CameoChatExport {
	format: typeof CAMEO_CHAT_FORMAT;
	version: number;
	exported_at: string;
	session: {
		id: string;
		title: string | null;
		created_at: string;
		character: { id: string; name: string };
		user_name: string;
		persona: { id: string; name: string } | null;
		lorebook_ids: string[];
		summary: { written: string | null; folded: string | null };
		reply_mode: string | null;
		characters: { id: string; name: string }[];
		members: unknown[];
		chat_metadata: Record<string, unknown> | null;
	};
	messages: CameoExportMessage[];
}

function parseCameoChat(file: Record<string, unknown>, limits: ImportLimits): ImportedChat {
	const bad = (what: string) => new ChatImportError("malformed", `The cameo export ${what}`);
	if (file.version !== CAMEO_CHAT_VERSION)
		throw bad(`has version ${String(file.version)}; ${CAMEO_CHAT_VERSION} is read`);
	const session = isObject(file.session) ? file.session : {};
	const messages = file.messages;
	if (!Array.isArray(messages)) throw bad("has no `messages` list");
	if (messages.length === 0) throw new ChatImportError("empty", "The file has no messages");
	if (messages.length > limits.maxMessages * 4)
		throw new ChatImportError("too_large", `The chat has more than ${limits.maxMessages} messages`);
	const turns: ImportedTurn[] = [];
	// A reply's variants, found by the message they answer and who said them, put in their order at the end.
	const groups = new Map<
		string,
		{ turn: ImportedTurn; rows: { order: number; active: boolean; v: ImportedVariant }[] }
	>();
	messages.forEach((m, i) => {
		if (!isObject(m) || (m.role !== "user" && m.role !== "ai") || typeof m.content !== "string")
			throw bad(`message ${i + 1} needs a role (user or ai) and a content`);
		if (m.content.length > MAX_IMPORTED_CONTENT_CHARS)
			throw bad(`message ${i + 1} is over ${MAX_IMPORTED_CONTENT_CHARS} characters`);
		const variant: ImportedVariant = {
			content: m.content,
			created_at: parseSendDate(m.created_at) ?? turns.at(-1)?.variants[0].created_at ?? new Date(),
			stopped: m.stopped === true,
			edited_at: parseSendDate(m.edited_at),
			pinned: m.pinned === true,
		};
		const key = m.role === "ai" && typeof m.reply_to === "string" ? `${m.reply_to}/${String(m.character_id)}` : null;
		const row = { order: typeof m.variant === "number" ? m.variant : 0, active: m.active !== false, v: variant };
		const group = key ? groups.get(key) : undefined;
		if (group) {
			if (group.rows.length >= MAX_SWIPES) throw bad(`message ${i + 1} is one of more than ${MAX_SWIPES} variants`);
			group.rows.push(row);
			return;
		}
		const leftover: Leftover = { ...(isObject(m.extra) ? m.extra : {}) };
		if (typeof m.name === "string") leftover.name = m.name;
		const turn: ImportedTurn = { role: m.role, variants: [variant], active: 0, leftover };
		if (m.role === "ai" && typeof m.character_id === "string") turn.character_id = m.character_id;
		if (key) groups.set(key, { turn, rows: [row] });
		turns.push(turn);
	});
	for (const { turn, rows } of groups.values()) {
		rows.sort((a, b) => a.order - b.order);
		turn.variants = rows.map((r) => r.v);
		turn.active = Math.max(
			0,
			rows.findIndex((r) => r.active),
		);
	}
	if (turns.length > limits.maxMessages)
		throw new ChatImportError("too_large", `The chat has more than ${limits.maxMessages} messages`);
	const summary =
		isObject(session.summary) && typeof session.summary.written === "string" ? session.summary.written : null;
	const persona = isObject(session.persona) && typeof session.persona.id === "string" ? session.persona.id : null;
	return {
		format: "cameo",
		title: typeof session.title === "string" ? session.title.slice(0, 120) : null,
		chat_metadata: isObject(session.chat_metadata) ? session.chat_metadata : null,
		summary: summary?.slice(0, 8000) ?? null,
		persona_id: persona,
		lorebook_ids: Array.isArray(session.lorebook_ids)
			? session.lorebook_ids.filter((id): id is string => typeof id === "string").slice(0, 20)
			: [],
		room: importedRoom(session),
		turns,
	};
}

/** The room a cameo export describes (its `reply_mode` is set for rooms only), or null. */
function importedRoom(session: Record<string, unknown>): ImportedRoom | null {
	const mode = session.reply_mode;
	if (typeof mode !== "string" || !(REPLY_MODES as readonly string[]).includes(mode)) return null;
	const cast = Array.isArray(session.characters) ? session.characters : [];
	const ids = cast.flatMap((c) => (isObject(c) && typeof c.id === "string" ? [c.id] : []));
	return { character_ids: [...new Set(ids)].slice(0, MAX_IMPORTED_CAST), reply_mode: mode as ReplyMode };
}

// ---------------------------------------------------------------------------------------------------------------
// Writing SillyTavern's JSONL

/** A stored message as the exporters read it, in the session's order (every variant). */
export interface StoredChatMessage {
	id: string;
	role: "user" | "ai";
	content: string;
	reply_to: string | null;
	character_id: string;
	username: string;
	variant: number;
	active: boolean;
	stopped: boolean;
	model: string | null;
	created_at: Date;
	edited_at: Date | null;
	pinned_at: Date | null;
	speaker: string | null;
	extra: Leftover | null;
}

export interface ChatNames {
	/** Who the user plays: the persona, else their display name. */
	user: string;
	/** The session's character. */
	character: string;
	/** Every character who speaks in it, by id (a room has several). */
	characters: ReadonlyMap<string, string>;
}

/** The name a message is said under: as imported, else the room persona or the user, else its character. */
export function speakerName(m: StoredChatMessage, names: ChatNames): string {
	if (typeof m.extra?.name === "string") return m.extra.name;
	if (m.role === "user") return m.speaker ?? names.user;
	return names.characters.get(m.character_id) ?? names.character;
}

/** A reply and its other variants, or a user message, as one line: the messages in order of their first row. */
export function groupTurns(messages: readonly StoredChatMessage[]): StoredChatMessage[][] {
	const turns: StoredChatMessage[][] = [];
	const replies = new Map<string, StoredChatMessage[]>();
	for (const m of messages) {
		const key = m.role === "ai" && m.reply_to ? `${m.reply_to}/${m.character_id}` : null;
		const group = key ? replies.get(key) : undefined;
		if (group) group.push(m);
		else {
			const turn = [m];
			if (key) replies.set(key, turn);
			turns.push(turn);
		}
	}
	return turns.map((turn) => [...turn].sort((a, b) => a.variant - b.variant));
}

/** The session as SillyTavern's JSONL: a header line, one line per message, no newline after the last. */
export function toSillyTavernJsonl(
	session: { created_at: Date; chat_metadata: Record<string, unknown> | null },
	messages: readonly StoredChatMessage[],
	names: ChatNames,
): string {
	const header = {
		user_name: names.user,
		character_name: names.character,
		create_date: humanizedDateTime(session.created_at),
		chat_metadata: session.chat_metadata ?? {},
	};
	const lines = [JSON.stringify(header)];
	for (const turn of groupTurns(messages)) lines.push(JSON.stringify(sillyTavernLine(turn, names)));
	return lines.join("\n");
}

function sillyTavernLine(turn: StoredChatMessage[], names: ChatNames): Record<string, unknown> {
	const first = turn[0];
	const shown = turn.find((m) => m.active) ?? turn.at(-1)!;
	// `rest` holds the name as imported too, which `name` below says again.
	const { extra, swipes, swipe_id: swipeId, swipe_info: swipeInfo, ...rest } = first.extra ?? {};
	const line: Record<string, unknown> = {
		...rest,
		name: speakerName(first, names),
		is_user: first.role === "user",
		is_system: false,
		send_date: shown.created_at.toISOString(),
		mes: shown.content,
		extra: isObject(extra) ? extra : {},
	};
	if (turn.length > 1) {
		line.swipe_id = turn.indexOf(shown);
		line.swipes = turn.map((m) => m.content);
		const info = Array.isArray(swipeInfo) ? swipeInfo : [];
		line.swipe_info = turn.map((m, i) =>
			isObject(info[i]) ? info[i] : { send_date: m.created_at.toISOString(), extra: {} },
		);
	} else if (Array.isArray(swipes)) {
		// Swipes kept as they came (a greeting's or a user line's): the one shown is the text as it is now.
		const index = typeof swipeId === "number" && swipeId < swipes.length ? swipeId : 0;
		line.swipe_id = index;
		line.swipes = swipes.map((s, i) => (i === index ? shown.content : s));
		if (swipeInfo !== undefined) line.swipe_info = swipeInfo;
	} else if (swipeInfo !== undefined) line.swipe_info = swipeInfo;
	return line;
}

/** A file name for a download: the character's name and the date, in ASCII letters, digits and dashes only. */
export function exportFileName(characterName: string, createdAt: Date, extension: "jsonl" | "json"): string {
	const base = characterName
		.normalize("NFKD")
		.replace(/[^A-Za-z0-9]+/g, "-")
		.replace(/^-+|-+$/g, "")
		.slice(0, 60);
	return `${base || "chat"}-${createdAt.toISOString().slice(0, 10)}.${extension}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing cameo's JSON

export interface ExportedSession {
	id: string;
	title: string | null;
	created_at: Date;
	character_id: string;
	persona: { id: string; name: string } | null;
	lorebook_ids: string[];
	summary_base: string | null;
	summary: string | null;
	reply_mode: string | null;
	members: unknown[];
	chat_metadata: Record<string, unknown> | null;
}

/** Everything cameo knows of the session: every variant, edits, pins, persona, lorebooks, summary, a room's people. */
export function toCameoExport(
	session: ExportedSession,
	messages: readonly StoredChatMessage[],
	names: ChatNames,
	now = new Date(),
): CameoChatExport {
	return {
		format: CAMEO_CHAT_FORMAT,
		version: CAMEO_CHAT_VERSION,
		exported_at: now.toISOString(),
		session: {
			id: session.id,
			title: session.title,
			created_at: session.created_at.toISOString(),
			character: { id: session.character_id, name: names.character },
			user_name: names.user,
			persona: session.persona,
			lorebook_ids: session.lorebook_ids,
			summary: { written: session.summary_base, folded: session.summary },
			reply_mode: session.reply_mode,
			characters: [...names.characters].map(([id, name]) => ({ id, name })),
			members: session.members,
			chat_metadata: session.chat_metadata,
		},
		messages: messages.map((m) => {
			const extra = Object.fromEntries(Object.entries(m.extra ?? {}).filter(([key]) => key !== "name"));
			return {
				id: m.id,
				role: m.role,
				content: m.content,
				reply_to: m.reply_to,
				character_id: m.character_id,
				name: speakerName(m, names),
				username: m.username,
				variant: m.variant,
				active: m.active,
				stopped: m.stopped,
				model: m.model,
				created_at: m.created_at.toISOString(),
				edited_at: m.edited_at?.toISOString() ?? null,
				pinned: m.pinned_at !== null,
				extra: Object.keys(extra).length > 0 ? extra : null,
			};
		}),
	};
}
