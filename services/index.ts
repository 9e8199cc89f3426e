/**
 * The services a process can run, by the name used in SERVICES=... Each entry builds its schema from the Config.
 */
import type { ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Config, ServiceName } from "../src/config.js";
import apiService from "./api.service.js";
import authService from "./auth.service.js";
import charactersService from "./characters.service.js";
import sessionsService from "./sessions.service.js";
import chatWsService from "./chat-ws.service.js";
import dispatcherService from "./dispatcher.service.js";
import aiConsumerService from "./ai-consumer.service.js";
import completionsService from "./completions.service.js";
import storyService from "./story.service.js";
import avatarsService from "./avatars.service.js";
import personasService from "./personas.service.js";
import lorebooksService from "./lorebooks.service.js";
import memoryService from "./memory.service.js";
import roomsService from "./rooms.service.js";
import chatTransferService from "./chat-transfer.service.js";
import searchService from "./search.service.js";
import adminService from "./admin.service.js";
import moderationService from "./moderation.service.js";
import ownProviderService from "./own-provider.service.js";
import apiKeysService from "./api-keys.service.js";

// Each factory types `this` as its own service shape; `any` here lets the broker accept them all.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const serviceFactories: Record<ServiceName, (config: Config) => ServiceSchema<ServiceSettingSchema, any>> = {
	api: apiService,
	auth: authService,
	characters: charactersService,
	sessions: sessionsService,
	"chat-ws": chatWsService,
	"ai-consumer": aiConsumerService,
	completions: completionsService,
	dispatcher: dispatcherService,
	story: storyService,
	avatars: avatarsService,
	personas: personasService,
	lorebooks: lorebooksService,
	memory: memoryService,
	rooms: roomsService,
	"chat-transfer": chatTransferService,
	search: searchService,
	admin: adminService,
	moderation: moderationService,
	"own-provider": ownProviderService,
	"api-keys": apiKeysService,
};
