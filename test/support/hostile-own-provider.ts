/**
 * Hostile-input cases for issue 17's own provider keys (see hostile-cases.ts for the table's rules): PUT, GET and
 * DELETE /me/provider. The suite's server keeps the default policy (ALLOW_PRIVATE_PROVIDER_URLS off), so a `base_url`
 * at a loopback, private, link-local or metadata address is refused whatever spelling the URL uses. None of these
 * cases stores a provider: the attacker's chats stay on the offline model for the rest of the table.
 */
import { TOO_LARGE, UNAUTHORIZED, VALIDATION, json, type Category, type RestCase } from "./hostile-cases.js";

const GOOD = { provider: "openai", api_key: "sk-hostile-0000", model: "llama3" };

export function ownProviderRequests(): RestCase[] {
	const put = (
		category: Category,
		name: string,
		body: string,
		expect: Pick<RestCase, "status" | "code" | "field"> = VALIDATION,
	): RestCase => ({ category, name: `PUT /me/provider ${name}`, method: "PUT", path: "/me/provider", body, ...expect });
	const invalid = (field: string) => ({ ...VALIDATION, field });
	const refusedUrl = (category: Category, name: string, base_url: string) =>
		put(category, `base_url ${name}`, json({ ...GOOD, base_url }), invalid("base_url"));

	return [
		...(["PUT", "GET", "DELETE"] as const).map((method): RestCase => ({
			category: "forged_jwt",
			name: `${method} /me/provider without a token`,
			method,
			path: "/me/provider",
			auth: "none",
			...(method === "PUT" ? { body: json(GOOD) } : {}),
			...UNAUTHORIZED,
		})),
		{
			category: "other_users",
			name: "DELETE /me/provider when none is set",
			method: "DELETE",
			path: "/me/provider",
			status: [404],
			code: ["NOT_FOUND"],
		},

		// Wrong types and shapes.
		put("wrong_types", "provider azure", json({ ...GOOD, provider: "azure" }), invalid("provider")),
		put("wrong_types", "provider number", json({ ...GOOD, provider: 1 }), invalid("provider")),
		put("wrong_types", "provider missing", json({ api_key: "k", model: "m" }), invalid("provider")),
		put("wrong_types", "api_key missing", json({ provider: "gemini" }), invalid("api_key")),
		put("wrong_types", "api_key number", json({ ...GOOD, api_key: 1234 }), invalid("api_key")),
		put("wrong_types", "api_key array", json({ ...GOOD, api_key: ["sk-a"] }), invalid("api_key")),
		put("wrong_types", "api_key empty", json({ ...GOOD, api_key: "" }), invalid("api_key")),
		put("wrong_types", "api_key with a space", json({ ...GOOD, api_key: "sk a" }), invalid("api_key")),
		put("wrong_types", "openai without a model", json({ provider: "openai", api_key: "sk-a" }), invalid("model")),
		put("wrong_types", "base_url number", json({ ...GOOD, base_url: 80 }), invalid("base_url")),
		put("wrong_types", "base_url empty", json({ ...GOOD, base_url: "" }), invalid("base_url")),
		put("wrong_types", "model object", json({ ...GOOD, model: { $ne: "" } }), invalid("model")),
		put("wrong_types", "a JSON array", json([GOOD])),
		put("null_bytes", "api_key with a NUL", json({ ...GOOD, api_key: "sk-\u0000a" }), invalid("api_key")),
		put("unicode", "api_key in full-width letters", json({ ...GOOD, api_key: "ｓｋ－ａ" }), invalid("api_key")),
		put("injection", "model with SQL", json({ ...GOOD, model: "m'; DROP TABLE user_providers;--" }), invalid("model")),
		put("huge_bodies", "api_key of 513 characters", json({ ...GOOD, api_key: "k".repeat(513) }), invalid("api_key")),
		put("huge_bodies", "api_key of 2 MB", json({ ...GOOD, api_key: "k".repeat(2_000_000) }), TOO_LARGE),
		put(
			"huge_bodies",
			"base_url of 2,049 characters",
			json({ ...GOOD, base_url: `http://a.example/${"p".repeat(2040)}` }),
			invalid("base_url"),
		),

		// Addresses the server must never be made to fetch (SSRF), in the spellings that reach them.
		refusedUrl("path_traversal", "file:///etc/passwd", "file:///etc/passwd"),
		refusedUrl("path_traversal", "gopher://", "gopher://127.0.0.1:6379/_FLUSHALL"),
		refusedUrl("other_users", "cloud metadata 169.254.169.254", "http://169.254.169.254/latest/meta-data/"),
		refusedUrl("other_users", "AWS metadata over IPv6", "http://[fd00:ec2::254]/latest/"),
		refusedUrl("other_users", "metadata as an IPv4-mapped IPv6", "http://[::ffff:169.254.169.254]/"),
		refusedUrl("other_users", "metadata as a decimal number", "http://2852039166/"),
		refusedUrl("other_users", "metadata in hex octets", "http://0xa9.0xfe.0xa9.0xfe/"),
		refusedUrl("other_users", "metadata through NAT64", "http://[64:ff9b::a9fe:a9fe]/"),
		refusedUrl("other_users", "Azure wire server", "http://168.63.129.16/"),
		refusedUrl("other_users", "link-local", "http://169.254.1.1:8080/v1"),
		refusedUrl("other_users", "loopback (PostgreSQL's port)", "http://127.0.0.1:5432/"),
		refusedUrl("other_users", "loopback as 0", "http://0/"),
		refusedUrl("other_users", "IPv6 loopback", "http://[::1]:6379/"),
		refusedUrl("other_users", "a private network", "http://10.0.0.1/v1"),
		refusedUrl("other_users", "localhost by name", "http://localhost:11434/v1"),
		refusedUrl("injection", "with credentials", "http://admin:secret@example.com/v1"),
		put(
			"other_users",
			"base_url for gemini",
			json({ provider: "gemini", api_key: "AIza-x", base_url: "https://example.com" }),
			invalid("base_url"),
		),
	];
}
