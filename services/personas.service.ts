/**
 * Personas over REST: who the user plays in their chats (`{{user}}` and a description for the prompt). A user's own
 * only: someone else's persona is indistinguishable from none (404). One is the default (sessions naming none use
 * it); a user without one gets theirs, named after them, when the list is first read. Lorebooks attached to a persona
 * are active in every chat it plays. Every write broadcasts `persona.changed` (and `lorebook.changed` when its books
 * change) so ai-consumer on every node reads them again.
 */
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config } from "../src/config.js";
import DbMixin, { type DbThis } from "../mixins/db.mixin.js";
import { PersonaStore, type PersonaFields, type PersonaRow } from "../src/adapters/persona-store.js";
import { LorebookStore, MAX_ATTACHED_LOREBOOKS } from "../src/adapters/lorebook-store.js";
import { LorebookEvent, type LorebookChangedPayload } from "../src/domain/lorebook.js";
import { deriveAvatar, normaliseAvatarUpload } from "../src/adapters/avatar-images.js";
import type { AvatarReadMeta } from "../src/adapters/avatar-route.js";
import {
	PERSONA_DESCRIPTION_MAX_CHARS,
	PERSONA_NAME_MAX_CHARS,
	PersonaEvent,
	parseAvatarDataUrl,
	toPersonaView,
	type PersonaChangedPayload,
} from "../src/domain/personas.js";
import {
	AVATAR_CACHE_CONTROL,
	AVATAR_SIZES,
	DERIVED_AVATAR_TYPE,
	avatarEtag,
	avatarSize,
	etagMatches,
} from "../src/domain/avatars.js";
import type { AuthUser } from "../src/domain/accounts.js";
import {
	CardRejected,
	LastPersona,
	NotFound,
	PersonaNotFound,
	Unauthorized,
	ValidationFailed,
	withCardErrors,
} from "../src/errors.js";

interface PersonasMeta extends AvatarReadMeta {
	user?: AuthUser;
	$statusCode?: number;
	$location?: string;
	$responseType?: string;
	$responseHeaders?: Record<string, string>;
}
interface IdParams {
	id: string;
}
interface WriteParams {
	name?: string | null;
	description?: string | null;
	avatar?: string | null;
	is_default?: boolean;
	lorebook_ids?: string[];
}
interface AvatarParams extends IdParams {
	size?: number;
}

type PersonasThis = Service &
	DbThis & {
		personas: PersonaStore;
		lorebooks: LorebookStore;
		fields(params: WriteParams): Promise<PersonaFields>;
		attachBooks(user: AuthUser, personaId: string, ids: string[] | undefined): Promise<void>;
		view(persona: PersonaRow): Promise<ReturnType<typeof toPersonaView>>;
		changed(persona: { id: string; user_id: string }): void;
	};

/** The fields of a persona as POST and PATCH take them (POST requires the name). */
const FIELDS = {
	$$strict: "remove",
	name: { type: "string", trim: true, min: 1, max: PERSONA_NAME_MAX_CHARS, optional: true },
	description: { type: "string", max: PERSONA_DESCRIPTION_MAX_CHARS, optional: true },
	avatar: { type: "string", nullable: true, optional: true },
	is_default: { type: "boolean", optional: true },
	lorebook_ids: { type: "array", items: "uuid", max: MAX_ATTACHED_LOREBOOKS, optional: true },
} as const;

export default function personasService(config: Config): ServiceSchema<ServiceSettingSchema, PersonasThis> {
	return {
		name: "personas",

		/** `this.db` (PostgreSQL). */
		mixins: [DbMixin(config)],

		actions: {
			list: {
				description: "Your personas, the default first (a first read makes your default, named after you)",
				params: {},
				async handler(this: PersonasThis, ctx: Context<object, PersonasMeta>) {
					const personas = await this.personas.list(requireUser(ctx.meta));
					return Promise.all(personas.map((p) => this.view(p)));
				},
			},

			get: {
				description: "One of your personas",
				params: { id: "uuid" },
				async handler(this: PersonasThis, ctx: Context<IdParams, PersonasMeta>) {
					return this.view(await ownPersona(this.personas, ctx));
				},
			},

			create: {
				description:
					`Create a persona: name (1 to ${PERSONA_NAME_MAX_CHARS} characters), description, avatar (a data: URL ` +
					"of a PNG, JPEG or WebP image), is_default (makes it your default instead of the current one), " +
					"lorebook_ids (books active in every chat it plays)",
				params: { ...FIELDS, name: { ...FIELDS.name, optional: false } },
				async handler(this: PersonasThis, ctx: Context<WriteParams & { name: string }, PersonasMeta>) {
					const user = requireUser(ctx.meta);
					const { is_default: isDefault, ...fields } = await this.fields(ctx.params);
					// Made default only once its books are attached: a refused book leaves nothing behind, the default unchanged.
					let persona = await this.personas.create(user, { ...fields, name: ctx.params.name });
					try {
						await this.attachBooks(user, persona.id, ctx.params.lorebook_ids);
					} catch (err) {
						await this.personas.remove(user.id, persona.id);
						throw err;
					}
					if (isDefault) persona = (await this.personas.update(user.id, persona.id, { is_default: true })) ?? persona;
					this.changed(persona);
					ctx.meta.$statusCode = 201;
					ctx.meta.$location = `/personas/${persona.id}`;
					return this.view(persona);
				},
			},

			update: {
				description:
					"Change a persona's name, description, avatar (null removes it), books (lorebook_ids, the full set), " +
					"or make it your default",
				params: { id: "uuid", ...FIELDS },
				async handler(this: PersonasThis, ctx: Context<WriteParams & IdParams, PersonasMeta>) {
					const user = requireUser(ctx.meta);
					const fields = await this.fields(ctx.params);
					await ownPersona(this.personas, ctx);
					await this.attachBooks(user, ctx.params.id, ctx.params.lorebook_ids);
					const persona = await this.personas.update(user.id, ctx.params.id, fields);
					if (!persona) throw PersonaNotFound(ctx.params.id);
					this.changed(persona);
					return this.view(persona);
				},
			},

			remove: {
				description:
					"Delete a persona; its sessions use your default from then on. Deleting the default makes your oldest " +
					"other persona the default; the only one cannot be deleted (409)",
				params: { id: "uuid" },
				async handler(this: PersonasThis, ctx: Context<IdParams, PersonasMeta>) {
					const user = requireUser(ctx.meta);
					const removal = await this.personas.remove(user.id, ctx.params.id);
					if (removal === "not_found") throw PersonaNotFound(ctx.params.id);
					if (removal === "only_persona") throw LastPersona(ctx.params.id);
					this.changed({ id: ctx.params.id, user_id: user.id });
					ctx.meta.$statusCode = 204;
					return null;
				},
			},

			/** The persona's image as a small square WebP, or 304 when the client's If-None-Match names it. */
			avatar: {
				description: `Your persona's image as a small square WebP: size ${AVATAR_SIZES.join(", ")} pixels (default 128)`,
				params: { id: "uuid", size: { type: "number", integer: true, convert: true, optional: true } },
				async handler(this: PersonasThis, ctx: Context<AvatarParams, PersonasMeta>): Promise<Buffer | null> {
					const size = avatarSize(ctx.params.size);
					if (!size) {
						const message = `The size is one of ${AVATAR_SIZES.join(", ")}`;
						throw ValidationFailed(message, [{ field: "size", message, type: "enum" }]);
					}
					const user = requireUser(ctx.meta);
					const stored = await this.personas.avatar(user.id, ctx.params.id);
					if (!stored) {
						if (await this.personas.get(user.id, ctx.params.id)) throw NotFound("This persona has no image");
						throw PersonaNotFound(ctx.params.id);
					}
					const etag = avatarEtag(ctx.params.id, stored.updated_at, size);
					ctx.meta.$responseHeaders = { ETag: etag, "Cache-Control": AVATAR_CACHE_CONTROL, Vary: "Authorization" };
					if (etagMatches(ctx.meta.ifNoneMatch, etag)) {
						ctx.meta.$statusCode = 304;
						return null;
					}
					ctx.meta.$responseType = DERIVED_AVATAR_TYPE;
					return deriveAvatar(stored.image, size);
				},
			},
		},

		methods: {
			/** The fields as the store takes them: an avatar's data: URL read and normalised (as character images are). */
			async fields(this: PersonasThis, params: WriteParams): Promise<PersonaFields> {
				const { name, description, is_default } = params;
				// The validator lets null through for an optional field; only the avatar takes it.
				if (name === null || description === null) {
					const field = name === null ? "name" : "description";
					const message = `The '${field}' field may not be null`;
					throw ValidationFailed(message, [{ field, message, type: "required" }]);
				}
				const text = { name, description, is_default };
				if (typeof params.avatar !== "string") return { ...text, avatar: params.avatar };
				const image = parseAvatarDataUrl(params.avatar);
				if (!image.ok) {
					if (image.tooLarge) throw CardRejected("too_large", image.detail, "avatar");
					throw ValidationFailed(image.detail, [{ field: "avatar", message: image.detail, type: "dataUrl" }]);
				}
				return { ...text, avatar: await withCardErrors(() => normaliseAvatarUpload(image.bytes)) };
			},

			/** Replaces the books attached to the persona, when `ids` is given (refusing books the user may not read). */
			async attachBooks(this: PersonasThis, user: AuthUser, personaId: string, ids: string[] | undefined) {
				if (!ids) return;
				await this.lorebooks.attach({ kind: "persona", id: personaId }, user, ids);
				void this.broker.broadcast(LorebookEvent.Changed, {} satisfies LorebookChangedPayload);
			},

			async view(this: PersonasThis, persona: PersonaRow) {
				return toPersonaView(persona, await this.lorebooks.attached({ kind: "persona", id: persona.id }));
			},

			changed(this: PersonasThis, { id, user_id }: { id: string; user_id: string }) {
				void this.broker.broadcast(PersonaEvent.Changed, { id, user_id } satisfies PersonaChangedPayload);
			},
		},

		started(this: PersonasThis) {
			this.personas = new PersonaStore(this.db.sequelize);
			this.lorebooks = new LorebookStore(this.db.sequelize);
		},
	};
}

function requireUser(meta: PersonasMeta): AuthUser {
	if (!meta.user) throw Unauthorized();
	return meta.user;
}

async function ownPersona(personas: PersonaStore, ctx: Context<IdParams, PersonasMeta>): Promise<PersonaRow> {
	const persona = await personas.get(requireUser(ctx.meta).id, ctx.params.id);
	if (!persona) throw PersonaNotFound(ctx.params.id);
	return persona;
}
