/**
 * The Kubernetes manifests under k8s/: every document valid against the Kubernetes schemas (kubernetes-models),
 * kustomization.yaml complete, every service deployed exactly once with a configuration src/config.ts accepts,
 * probes on the health port, references that resolve, no credentials committed, images pinned, pods locked down.
 * The schemas check types and required fields, not unknown keys, hence the targeted checks below.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import {
	ConfigMap,
	Namespace,
	Secret,
	Service,
	type IContainer,
	type IPodSpec,
	type IProbe,
} from "kubernetes-models/v1";
import { Deployment, StatefulSet, type IDeployment, type IStatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ALL_SERVICES, CLUSTER_ROLES, loadConfig, type Config } from "../../src/config.js";

const K8S_DIR = fileURLToPath(new URL("../../k8s/", import.meta.url));
const KUSTOMIZATION = "kustomization.yaml";
/** Shows the Secret's keys; never applied by kustomize (it would overwrite the real credentials). */
const SECRET_TEMPLATE = "secret.template.yaml";
/** Connections k8s/postgres.yaml keeps for operators (psql, pg_dump), and PostgreSQL's own for superusers (default 3). */
const OPERATOR_CONNECTIONS = 5;
const SUPERUSER_RESERVED_CONNECTIONS = 3;

/** Every kind we deploy, by apiVersion/kind. Anything else fails: add its model here first. */
const MODELS = {
	"v1/Namespace": Namespace,
	"v1/ConfigMap": ConfigMap,
	"v1/Secret": Secret,
	"v1/Service": Service,
	"apps/v1/Deployment": Deployment,
	"apps/v1/StatefulSet": StatefulSet,
	"autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
	"policy/v1/PodDisruptionBudget": PodDisruptionBudget,
	"networking.k8s.io/v1/Ingress": Ingress,
	"networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
} as const;

interface Manifest {
	file: string;
	doc: { apiVersion?: string; kind?: string; metadata?: { name?: string } };
}

const manifestFiles = readdirSync(K8S_DIR)
	.filter((f) => /\.ya?ml$/.test(f) && f !== KUSTOMIZATION)
	.sort();

const parseErrors: string[] = [];
const manifests: Manifest[] = manifestFiles.flatMap((file) =>
	parseAllDocuments(readFileSync(K8S_DIR + file, "utf8")).flatMap((d) => {
		parseErrors.push(...d.errors.map((e) => `${file}: ${e.message}`));
		return d.errors.length > 0 ? [] : [{ file, doc: d.toJS() as Manifest["doc"] }];
	}),
);

/** What a Deployment's pod would run with: its environment, the ConfigMap's, and stand-ins for the Secret's placeholders. */
function podConfig(d: IDeployment): { env: Record<string, string>; config: Config } {
	const env = Object.fromEntries(
		(podSpec(d).containers[0].env ?? []).map((e) => [e.name, e.value ?? `from-${e.valueFrom ? "field" : "nothing"}`]),
	);
	const standIn = (key: string) => (key === "SECRETS_KEY" ? "ab".repeat(32) : "x".repeat(40));
	const secrets = Object.fromEntries(Object.keys(secretTemplate?.stringData ?? {}).map((k) => [k, standIn(k)]));
	return { env, config: loadConfig({ ...configMap?.data, ...secrets, ...env }) };
}

const label = (m: Manifest) => `${m.file}: ${m.doc.kind}/${m.doc.metadata?.name}`;
const all = <T>(model: { is(value: unknown): value is T }): T[] =>
	manifests.filter((m) => model.is(m.doc)).map((m) => m.doc as T);

const deployments = all(Deployment);
const statefulSets = all(StatefulSet);
const workloads: Workload[] = [...deployments, ...statefulSets];
const services = all(Service);
const configMap = all(ConfigMap).find((c) => c.metadata?.name === "cameo-config");
const secretTemplate = all(Secret).find((s) => s.metadata?.name === "cameo-secrets");

type Workload = IDeployment | IStatefulSet;

function podSpec(w: Workload): IPodSpec {
	const spec = w.spec?.template.spec;
	if (!spec) throw new Error(`${w.kind}/${w.metadata?.name} has no pod spec`);
	return spec;
}

function containers(w: Workload): IContainer[] {
	const spec = podSpec(w);
	return [...(spec.initContainers ?? []), ...spec.containers];
}

/** The container port a probe or Service refers to, by name or number. */
function resolvePort(container: IContainer, port: number | string | undefined): number | undefined {
	if (typeof port === "number") return port;
	return container.ports?.find((p) => p.name === port)?.containerPort;
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
	selector !== undefined &&
	Object.keys(selector).length > 0 &&
	Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe("k8s manifests", () => {
	it("should find manifests and parse every YAML document", () => {
		expect(manifestFiles.length).toBeGreaterThan(5);
		expect(parseErrors).toEqual([]);
		for (const m of manifests) {
			expect(m.doc, m.file).toBeTypeOf("object");
			expect(m.doc.metadata?.name, `${m.file}: a document without metadata.name`).toBeTruthy();
		}
	});

	it("should validate every document against the Kubernetes schema of its kind", () => {
		for (const m of manifests) {
			const key = `${m.doc.apiVersion}/${m.doc.kind}`;
			const Model = MODELS[key as keyof typeof MODELS];
			if (!Model) throw new Error(`${m.file}: unknown kind ${key} (add its kubernetes-models class to MODELS)`);
			try {
				new Model(m.doc as never).validate();
			} catch (err) {
				throw new Error(`${label(m)} is invalid: ${(err as Error).message}`);
			}
		}
	});

	it("should list exactly the manifest files in kustomization.yaml, except the Secret template", () => {
		const kustomization = parse(readFileSync(K8S_DIR + KUSTOMIZATION, "utf8")) as {
			apiVersion: string;
			kind: string;
			namespace: string;
			resources: string[];
		};
		expect(kustomization).toMatchObject({
			apiVersion: "kustomize.config.k8s.io/v1beta1",
			kind: "Kustomization",
			namespace: "cameo",
		});
		expect([...kustomization.resources].sort()).toEqual(manifestFiles.filter((f) => f !== SECRET_TEMPLATE));
		expect(new Set(kustomization.resources).size).toBe(kustomization.resources.length);
		expect(manifestFiles).toContain(SECRET_TEMPLATE);
	});

	it("should deploy every service exactly once, in Deployments whose configuration src/config.ts accepts", () => {
		expect(configMap).toBeDefined();
		expect(secretTemplate?.stringData).toBeDefined();
		const deployed: string[] = [];
		for (const d of deployments) {
			const container = podSpec(d).containers[0];
			const { env, config } = podConfig(d);
			const names = String(env.SERVICES ?? "").split(",");
			for (const name of names) expect(ALL_SERVICES, `${d.metadata?.name}: unknown service "${name}"`).toContain(name);
			// The same roles as the local cluster runner and the bench.
			expect(env.SERVICES).toBe(CLUSTER_ROLES[d.metadata?.name as keyof typeof CLUSTER_ROLES]);
			deployed.push(...names);
			expect(config.mode).toBe("cluster");
			expect(config.services).toEqual(names);
			expect(config.nodeId, `${d.metadata?.name}: NODE_ID from the pod name`).toBe("from-field");
			expect(container.env?.find((e) => e.name === "NODE_ID")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
		}
		expect([...deployed].sort()).toEqual([...ALL_SERVICES].sort());
	});

	it("should fit every pod's database pool at the most, and the operators', in PostgreSQL's max_connections", () => {
		const postgres = statefulSets.find((s) => s.metadata?.name === "postgres");
		const setting = containers(postgres!)[0]
			.args?.map((arg) => /^max_connections=(\d+)$/.exec(arg))
			.find((match) => match !== null);
		expect(setting, "postgres sets max_connections (args: -c max_connections=N)").toBeDefined();
		const maxConnections = Number(setting![1]);
		const hpas = all(HorizontalPodAutoscaler);
		let needed = OPERATOR_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS;
		for (const d of deployments) {
			const { config } = podConfig(d);
			// The gateway alone opens no database: its service has no db mixin.
			if (config.services.every((name) => name === "api")) continue;
			const hpa = hpas.find((h) => h.spec?.scaleTargetRef.name === d.metadata?.name);
			const surge = Number(d.spec?.strategy?.rollingUpdate?.maxSurge ?? NaN);
			expect(Number.isInteger(surge), `${d.metadata?.name}: maxSurge as a number of pods`).toBe(true);
			const pods = (hpa?.spec?.maxReplicas ?? d.spec?.replicas ?? 1) + surge;
			needed += pods * config.dbPool.max;
		}
		expect(needed).toBeLessThanOrEqual(maxConnections);
		// The sum the comment in postgres.yaml shows.
		expect(readFileSync(K8S_DIR + "postgres.yaml", "utf8")).toContain(`total        ${needed} of ${maxConnections}`);
	});

	it("should advertise chat-ws's gRPC server at the pod IP", () => {
		const chatWs = deployments.find((d) => d.metadata?.name === "chat-ws");
		const podIp = chatWs && podSpec(chatWs).containers[0].env?.find((e) => e.name === "POD_IP");
		expect(podIp?.valueFrom?.fieldRef?.fieldPath).toBe("status.podIP");
		expect(services.find((s) => s.metadata?.name === "chat-ws-grpc")?.spec).toMatchObject({
			clusterIP: "None",
			ports: [{ port: 50051 }],
		});
	});

	it("should point every Deployment's probes at /livez and /readyz on the health port", () => {
		const healthPort = loadConfig({ ...configMap!.data, CAMEO_MODE: "embedded", TRANSPORTER: "" }).healthPort;
		expect(healthPort).toBe(9090);
		const check = (container: IContainer, probe: IProbe | undefined, path: string, what: string) => {
			expect(probe?.httpGet?.path, what).toBe(path);
			expect(resolvePort(container, probe?.httpGet?.port), what).toBe(healthPort);
		};
		for (const d of deployments) {
			const container = podSpec(d).containers[0];
			check(container, container.livenessProbe, "/livez", `${d.metadata?.name} liveness`);
			check(container, container.readinessProbe, "/readyz", `${d.metadata?.name} readiness`);
		}
	});

	it("should give every workload probes, resources, a grace period and a locked-down security context", () => {
		for (const w of workloads) {
			const name = `${w.kind}/${w.metadata?.name}`;
			const spec = podSpec(w);
			expect(spec.securityContext?.runAsNonRoot, name).toBe(true);
			expect(spec.securityContext?.runAsUser, `${name}: a numeric non-root user`).toBeGreaterThan(0);
			expect(spec.securityContext?.seccompProfile?.type, name).toBe("RuntimeDefault");
			expect(spec.terminationGracePeriodSeconds, name).toBeGreaterThan(0);
			for (const c of containers(w)) {
				expect(c.livenessProbe, `${name}/${c.name} liveness`).toBeDefined();
				expect(c.readinessProbe, `${name}/${c.name} readiness`).toBeDefined();
				expect(c.resources?.requests, `${name}/${c.name} requests`).toMatchObject({
					cpu: expect.anything(),
					memory: expect.anything(),
				});
				expect(c.resources?.limits?.memory, `${name}/${c.name} memory limit`).toBeDefined();
				expect(c.securityContext?.allowPrivilegeEscalation, `${name}/${c.name}`).toBe(false);
				expect(c.securityContext?.capabilities?.drop, `${name}/${c.name}`).toEqual(["ALL"]);
			}
		}
		// The app image writes nothing outside /tmp.
		for (const d of deployments)
			for (const c of containers(d)) expect(c.securityContext?.readOnlyRootFilesystem, d.metadata?.name).toBe(true);
	});

	it("should keep StatefulSet data on claims from volumeClaimTemplates, under a headless governing Service", () => {
		expect(statefulSets.map((s) => s.metadata?.name).sort()).toEqual(["postgres", "rabbitmq", "redis"]);
		for (const s of statefulSets) {
			const claims = s.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name) ?? [];
			expect(claims.length, s.metadata?.name).toBeGreaterThan(0);
			for (const c of containers(s))
				for (const claim of claims) expect(c.volumeMounts?.map((v) => v.name)).toContain(claim);
			expect(
				services.find((svc) => svc.metadata?.name === s.spec?.serviceName)?.spec?.clusterIP,
				s.metadata?.name,
			).toBe("None");
		}
	});

	it("should wire Services, the Ingress, autoscalers and disruption budgets to things that exist", () => {
		const podsOf = (selector: Record<string, string> | undefined) =>
			workloads.filter((w) => matches(selector, w.spec?.template.metadata?.labels));
		for (const s of services) {
			const targets = podsOf(s.spec?.selector);
			expect(targets.length, `Service ${s.metadata?.name} selects no pods`).toBeGreaterThan(0);
			for (const p of s.spec?.ports ?? []) {
				for (const w of targets) {
					const ok = podSpec(w).containers.some((c) => resolvePort(c, p.targetPort ?? p.port) !== undefined);
					expect(ok, `Service ${s.metadata?.name} port ${p.name} has no target on ${w.metadata?.name}`).toBe(true);
				}
			}
		}
		for (const ingress of all(Ingress)) {
			for (const path of ingress.spec?.rules?.flatMap((r) => r.http?.paths ?? []) ?? []) {
				const backend = path.backend.service;
				const service = services.find((s) => s.metadata?.name === backend?.name);
				expect(service, `Ingress path ${path.path}`).toBeDefined();
				expect(
					service?.spec?.ports?.some((p) => p.name === backend?.port?.name || p.port === backend?.port?.number),
					`Ingress path ${path.path}`,
				).toBe(true);
			}
		}
		for (const hpa of all(HorizontalPodAutoscaler)) {
			const target = deployments.find((d) => d.metadata?.name === hpa.spec?.scaleTargetRef.name);
			expect(target, `HPA ${hpa.metadata?.name}`).toBeDefined();
			// A replica count in the Deployment would reset the autoscaler's at every apply.
			expect(target?.spec?.replicas, `Deployment ${target?.metadata?.name} under an HPA`).toBeUndefined();
			expect(
				containers(target!).every((c) => c.resources?.requests?.cpu),
				"CPU utilisation needs CPU requests",
			).toBe(true);
		}
		for (const pdb of all(PodDisruptionBudget))
			expect(podsOf(pdb.spec?.selector?.matchLabels).length, `PDB ${pdb.metadata?.name}`).toBe(1);
		expect(
			all(HorizontalPodAutoscaler)
				.map((h) => h.spec?.scaleTargetRef.name)
				.sort(),
		).toEqual(["ai-consumer", "chat-ws"]);
	});

	it("should reference only ConfigMap and Secret keys that exist", () => {
		for (const w of workloads) {
			for (const c of containers(w)) {
				for (const e of c.env ?? []) {
					const cm = e.valueFrom?.configMapKeyRef;
					if (cm) expect(Object.keys(configMap?.data ?? {}), `${w.metadata?.name} ${e.name}`).toContain(cm.key);
					const secret = e.valueFrom?.secretKeyRef;
					if (secret)
						expect(Object.keys(secretTemplate?.stringData ?? {}), `${w.metadata?.name} ${e.name}`).toContain(
							secret.key,
						);
				}
				for (const from of c.envFrom ?? []) {
					if (from.configMapRef) expect(from.configMapRef.name).toBe(configMap?.metadata?.name);
					if (from.secretRef) expect(from.secretRef.name).toBe(secretTemplate?.metadata?.name);
				}
			}
		}
	});

	it("should commit no credentials: Secrets hold placeholders only", () => {
		const secrets = all(Secret);
		expect(secrets.length).toBeGreaterThan(0);
		for (const s of secrets) {
			expect(s.data, `Secret ${s.metadata?.name}: base64 data would hide real values`).toBeUndefined();
			for (const [key, value] of Object.entries(s.stringData ?? {})) {
				expect(value, `Secret ${s.metadata?.name} ${key} must be empty or a <placeholder>`).toMatch(/^(|<[^>]*>)$/);
			}
		}
	});

	it("should pin every container image to a version", () => {
		for (const w of workloads) {
			for (const c of containers(w)) {
				const image = c.image ?? "";
				const tag = /@sha256:[0-9a-f]{64}$/.test(image) ? "digest" : /:([^/:]+)$/.exec(image)?.[1];
				expect(tag, `${w.metadata?.name}/${c.name}: image "${image}" has no tag`).toBeDefined();
				expect(tag, `${w.metadata?.name}/${c.name}: image "${image}"`).not.toBe("latest");
			}
		}
	});

	it("should keep everything in the cameo namespace", () => {
		expect(all(Namespace).map((n) => n.metadata?.name)).toEqual(["cameo"]);
		const elsewhere = manifests.filter(
			(m) => ![undefined, "cameo"].includes((m.doc.metadata as { namespace?: string }).namespace),
		);
		expect(elsewhere.map(label)).toEqual([]);
	});
});
