/**
 * The chat pipeline's own metrics, next to Moleculer's on `/metrics` (Prometheus text, health port). Every `cameo_*`
 * series is registered here, once per broker; services call the typed helpers of `chatMetrics(broker)`. With
 * METRICS_ENABLED off the helpers do nothing. Each series also carries the reporter's `nodeID` and `namespace` labels,
 * so "by node" needs no label of its own.
 */
import { METRIC, type LoggerInstance, type MetricRegistry, type MetricTypes, type ServiceBroker } from "moleculer";
import type { Config } from "../config.js";
import type { ErrorFrameCode, SessionFrames, Usage } from "../domain/chat-wire.js";
import { queueStatus } from "./queue-inspector.js";
import type { LlmUnavailableError } from "../domain/chat-model.js";

export interface ChatMetrics {
	/** chat-ws: a user message was stored (and will be answered). */
	messageIn(): void;
	/** chat-ws: live delivery wrote `sent` frames to sockets; counts them when they are replies. */
	delivered(items: SessionFrames[], sent: number): void;
	/** chat-ws: the node now holds `count` sockets. */
	openSockets(count: number): void;
	/** An error frame went to a client. */
	errorFrame(code: ErrorFrameCode): void;
	/** ai-consumer: the model's first chunk came `seconds` after the user message was picked up. */
	firstDelta(model: string, seconds: number): void;
	/** ai-consumer: what a finished (or stopped) reply cost. */
	tokens(model: string, usage: Usage): void;
	/** ai-consumer: the provider could not answer. */
	llmError(err: LlmUnavailableError): void;
	/** dispatcher: from the user message stored to its reply stored. */
	replyLatency(seconds: number): void;
	/** dispatcher: samples the chat queues' depth (cluster only) until the returned function is called. */
	sampleQueueDepths(config: Config, logger: LoggerInstance): () => void;
}

const QUEUE_SAMPLE_MS = 15_000;
/** From the offline model's milliseconds to a slow LLM's minute; replies time out after CHAT_REPLY_TIMEOUT anyway. */
const REPLY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
const FIRST_DELTA_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30];

const noop = () => undefined;
const DISABLED: ChatMetrics = {
	messageIn: noop,
	delivered: noop,
	openSockets: noop,
	errorFrame: noop,
	firstDelta: noop,
	tokens: noop,
	llmError: noop,
	replyLatency: noop,
	sampleQueueDepths: () => noop,
};

const byBroker = new WeakMap<ServiceBroker, ChatMetrics>();

/** The helpers of this broker's registry; every service of a process shares them. */
export function chatMetrics(broker: ServiceBroker): ChatMetrics {
	let metrics = byBroker.get(broker);
	if (!metrics) byBroker.set(broker, (metrics = broker.isMetricsEnabled() ? register(broker.metrics) : DISABLED));
	return metrics;
}

function register(registry: MetricRegistry): ChatMetrics {
	const counter = (name: string, description: string, labelNames: string[] = []) =>
		registry.register({ type: METRIC.TYPE_COUNTER, name, description, labelNames }) as MetricTypes.Counter;
	const gauge = (name: string, description: string, labelNames: string[] = []) =>
		registry.register({ type: METRIC.TYPE_GAUGE, name, description, labelNames }) as MetricTypes.Gauge;
	// Moleculer's reporter prints a histogram's _sum and _count only along with quantiles.
	const histogram = (name: string, description: string, buckets: number[], labelNames: string[] = []) =>
		registry.register({
			type: METRIC.TYPE_HISTOGRAM,
			name,
			description,
			labelNames,
			unit: "second",
			buckets,
			quantiles: true,
		}) as MetricTypes.Histogram;

	const messagesIn = counter("cameo_messages_in_total", "User messages stored by this chat-ws node");
	const messagesOut = counter(
		"cameo_messages_out_total",
		"Replies written live to sockets by this chat-ws node, one per socket (operator messages too)",
	);
	const sockets = gauge("cameo_ws_open_sockets", "WebSockets open on this chat-ws node");
	const errorFrames = counter("cameo_ws_error_frames_total", "Error frames sent to clients, by code", ["code"]);
	const firstDelta = histogram(
		"cameo_llm_first_delta_seconds",
		"From a user message picked up by the ai-consumer to the model's first chunk",
		FIRST_DELTA_BUCKETS,
		["provider", "model"],
	);
	const tokens = counter(
		"cameo_llm_tokens_total",
		"LLM tokens of replies, by provider, model and type (input or output)",
		["provider", "model", "type"],
	);
	const llmErrors = counter(
		"cameo_llm_errors_total",
		"Replies the LLM provider could not make, by provider and reason",
		["provider", "reason"],
	);
	const replyLatency = histogram(
		"cameo_reply_latency_seconds",
		"From a user message stored to its first reply stored",
		REPLY_BUCKETS,
	);
	const queueMessages = gauge(
		"cameo_queue_messages",
		"Messages waiting in a chat queue or dead-letter queue (sampled every 15 s)",
		["queue"],
	);

	return {
		messageIn: () => messagesIn.increment(undefined, 1),
		delivered(items, sent) {
			if (sent > 0 && items.every(allReplies)) messagesOut.increment(undefined, sent);
		},
		openSockets: (count) => sockets.set(count),
		errorFrame: (code) => errorFrames.increment({ code }, 1),
		firstDelta: (model, seconds) => firstDelta.observe(seconds, modelLabels(model).base),
		tokens(model, usage) {
			const labels = modelLabels(model);
			tokens.increment(labels.input, usage.input_tokens);
			tokens.increment(labels.output, usage.output_tokens);
		},
		llmError: (err) => llmErrors.increment({ provider: err.provider, reason: err.reason }, 1),
		replyLatency: (seconds) => replyLatency.observe(seconds),
		sampleQueueDepths: (config, logger) =>
			config.mode === "cluster" ? sampleQueues(queueMessages, config, logger) : noop,
	};
}

/**
 * Every frame of a delivery is a final `ai` frame. Each `Delivery.send` carries one reply, or deltas, or an error, so
 * this tells what `sent` counted.
 */
function allReplies(item: SessionFrames): boolean {
	return item.frames.every((frame) => frame.type === "ai");
}

interface ModelLabels {
	base: { provider: string; model: string };
	input: { provider: string; model: string; type: "input" };
	output: { provider: string; model: string; type: "output" };
}

/**
 * Labels per model name ("gemini:gemini-2.5-pro", "offline"), made once: no allocation per reply. The names are the
 * configured model and those in LLM_ALLOWED_MODELS (a character's other names fall back, model-settings.ts), so the
 * set is bounded by the operator, not by what users type.
 */
const labelsByModel = new Map<string, ModelLabels>();

function modelLabels(name: string): ModelLabels {
	let labels = labelsByModel.get(name);
	if (!labels) {
		const colon = name.indexOf(":");
		const base =
			colon < 0 ? { provider: name, model: name } : { provider: name.slice(0, colon), model: name.slice(colon + 1) };
		labelsByModel.set(
			name,
			(labels = { base, input: { ...base, type: "input" }, output: { ...base, type: "output" } }),
		);
	}
	return labels;
}

/** The REPL's `queues` list (same queue names), into a gauge; an unreadable or missing queue has no series rather than a stale one. */
function sampleQueues(gauge: MetricTypes.Gauge, config: Config, logger: LoggerInstance): () => void {
	let sampling = false;
	let failing = false;
	const sample = async () => {
		// A RabbitMQ that does not answer can hold a sample longer than the interval.
		if (sampling) return;
		sampling = true;
		try {
			const depths = (await queueStatus(config)) ?? [];
			gauge.clear();
			for (const { queue, messages } of depths) if (messages !== null) gauge.set(messages, { queue });
			if (failing) logger.info("Queue depths can be read again");
			failing = false;
		} catch (err) {
			gauge.clear();
			// Once per outage, not every 15 s.
			if (!failing) logger.warn(`Could not read queue depths: ${(err as Error).message}`);
			failing = true;
		} finally {
			sampling = false;
		}
	};
	void sample();
	const timer = setInterval(() => void sample(), QUEUE_SAMPLE_MS);
	return () => clearInterval(timer);
}
