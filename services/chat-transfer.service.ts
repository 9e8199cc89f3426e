/**
 * Chats as files (issue 16): a session exported as SillyTavern's JSONL or as cameo's own JSON, and a chat file
 * imported as a new session with a character the caller chooses. The formats are src/domain/chat-export.ts; who may
 * see a session or a character is the sessions and characters services' answer (their `get`), asked, not repeated.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { ChatTransferStore, type ImportTarget } from "../src/adapters/chat-transfer-store.js";
import {
	exportFileName,
	readChatFileInSlices,
	toCameoExport,
	toSillyTavernJsonl,
	type CameoChatExport,
	type ChatNames,
	type ImportedChat,
} from "../src/domain/chat-export.js";
import { isUuid } from "../src/domain/uuid.js";
import { SessionNotFound, Unauthorized, withChatImportErrors } from "../src/errors.js";
import type { AuthUser } from "../src/domain/accounts.js";

interface TransferMeta {
	user?: AuthUser;
	$statusCode?: number;
	$location?: string;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
}

export interface ExportParams {
	id: string;
	format: "jsonl" | "json";
}

export interface ImportParams {
	character_id: string;
	/** The file's text (the gateway reads it from the body or the form's `file` part: src/adapters/chat-upload-params.ts). */
	text: string;
}

/** The session as GET /sessions/:id shows it: what an export needs of it. */
interface SessionView {
	id: string;
	character_id: string;
	character_name: string;
	persona: { id: string; name: string } | null;
	lorebook_ids: string[];
	reply_mode: string | null;
	characters: { id: string; name: string }[];
	members: unknown[];
}

type TransferThis = Service &
	DbThis & {
		store: ChatTransferStore;
		importTarget(ctx: Context<ImportParams, TransferMeta>, chat: ImportedChat): Promise<ImportTarget>;
	};

/** SillyTavern's files are JSON Lines; `application/jsonl` is the type the JSON Lines site names. */
const JSONL_TYPE = "application/jsonl; charset=utf-8";

export default function chatTransferService(config: Config): ServiceSchema<ServiceSettingSchema, TransferThis> {
	return {
		name: "chat-transfer",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			/** A session the caller may read, as a download: SillyTavern's JSONL or cameo's JSON. */
			export: {
				description:
					"Download a chat: `export.jsonl` is SillyTavern's chat format (a header line, then one line per " +
					"message, a reply's variants as `swipes`), `export.json` cameo's own (every variant, edits, pins, " +
					"persona, lorebooks, summary, a room's people)",
				params: { id: "uuid", format: { type: "enum", values: ["jsonl", "json"] } },
				async handler(this: TransferThis, ctx: Context<ExportParams, TransferMeta>): Promise<string | CameoChatExport> {
					const user = requireUser(ctx.meta);
					const view = await ctx.call<SessionView, { id: string }>("sessions.get", { id: ctx.params.id });
					const [row, messages] = await Promise.all([this.store.session(view.id), this.store.messages(view.id)]);
					if (!row) throw SessionNotFound(view.id);
					const characters = new Map(view.characters.map((c) => [c.id, c.name]));
					const unnamed = [...new Set(messages.map((m) => m.character_id))].filter((id) => !characters.has(id));
					if (unnamed.length > 0)
						for (const [id, name] of await this.store.characterNames(unnamed)) characters.set(id, name);
					const names: ChatNames = {
						user: view.persona?.name ?? user.name,
						character: view.character_name,
						characters,
					};
					const { format } = ctx.params;
					const file = exportFileName(view.character_name, row.created_at, format);
					ctx.meta.$responseHeaders = { "Content-Disposition": `attachment; filename="${file}"` };
					if (format === "json") {
						// The title as stored (null: the default one), not the view's made-up default.
						const session = { ...view, ...row, persona: view.persona };
						return toCameoExport(session, messages, names);
					}
					ctx.meta.$responseType = JSONL_TYPE;
					return toSillyTavernJsonl(row, messages, names);
				},
			},

			/**
			 * A new session of the caller's with `character_id` from a chat file: SillyTavern's JSONL as any version
			 * wrote it, the minimal `{mes, is_user}` lines other apps write, or cameo's JSON export. Nothing of it is
			 * sent to the model; names in the file are kept as given, the character is the one chosen.
			 */
			importChat: {
				description:
					"Import a chat file as a new session with the character you choose (`?character_id=`): SillyTavern " +
					"JSONL (any version; " +
					"swipes become reply variants, system lines are skipped) or cameo's JSON export (a room's export " +
					"becomes a room again with the characters of its cast you can see, you its only person), as the body or the " +
					"`file` part of a form. 201 with the session; 422 names a malformed line; 413 past " +
					"CHAT_IMPORT_MAX_MB or CHAT_IMPORT_MAX_MESSAGES",
				params: { character_id: "uuid", text: { type: "string" } },
				async handler(this: TransferThis, ctx: Context<ImportParams, TransferMeta>) {
					const user = requireUser(ctx.meta);
					// 404 for a character the caller may not see, before the file is read.
					await ctx.call("characters.get", { id: ctx.params.character_id });
					const limits = { maxMessages: config.chatImport.maxMessages };
					// A slice of lines at a time, the event loop running between them: a long file never holds the node.
					const chat = await withChatImportErrors(() => readChatFileInSlices(ctx.params.text, limits, nextTurn));
					const owner = { username: user.username, userId: user.id };
					const target = await this.importTarget(ctx, chat);
					const id = await this.store.importChat(owner, target, chat);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/sessions/${id}`;
					return ctx.call("sessions.get", { id });
				},
			},
		},

		methods: {
			/**
			 * Where the file's turns go. A room's export becomes a room again, its cast the characters of the file's
			 * cast the caller may see (asked of `characters.get`, as a room's owner choosing them would be), the chosen
			 * one first when the file's cast lacks it, at most ROOM_MAX_CHARACTERS; replies of the others become the
			 * chosen character's, their names kept.
			 */
			async importTarget(
				this: TransferThis,
				ctx: Context<ImportParams, TransferMeta>,
				chat: ImportedChat,
			): Promise<ImportTarget> {
				const characterId = ctx.params.character_id;
				if (!chat.room) return { characterId, room: null };
				const seen = await Promise.all(
					chat.room.character_ids.map((id) =>
						id === characterId || !isUuid(id)
							? id
							: ctx.call("characters.get", { id }).then(
									() => id,
									() => null,
								),
					),
				);
				const max = config.chat.roomMaxCharacters;
				let cast = seen.filter((id): id is string => id !== null && isUuid(id)).slice(0, max);
				if (!cast.includes(characterId)) cast = [characterId, ...cast].slice(0, max);
				return { characterId, room: { characterIds: cast, replyMode: chat.room.reply_mode } };
			},
		},

		started(this: TransferThis) {
			this.store = new ChatTransferStore(this.db.sequelize);
		},
	};
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function requireUser(meta: TransferMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}
