"use strict";

/** Builds an element; strings become text nodes, so nothing from the document is parsed as HTML. */
function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [key, value] of Object.entries(attrs || {})) {
		if (value !== undefined && value !== false) el.setAttribute(key, value === true ? "" : value);
	}
	for (const child of children.flat()) {
		if (child !== undefined && child !== null && child !== false)
			el.append(child instanceof Node ? child : String(child));
	}
	return el;
}

let spec;
function resolve(node) {
	while (node && node.$ref) {
		node = node.$ref
			.replace(/^#\//, "")
			.split("/")
			.map(decodeURIComponent)
			.reduce((at, key) => at && at[key], spec);
	}
	return node || {};
}
/** Descriptions mark code with backticks (CommonMark); render those spans as code and nothing else. */
function inline(text) {
	return String(text)
		.split("`")
		.map((part, i) => (i % 2 ? h("code", {}, part) : part));
}
function refName(node) {
	return node && node.$ref ? node.$ref.split("/").pop() : undefined;
}

function typeLabel(schema) {
	const s = resolve(schema);
	if (s.anyOf) return s.anyOf.map(typeLabel).join(" | ");
	if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
	if (s.const !== undefined) return JSON.stringify(s.const);
	if (s.type === "array") return `array of ${s.items ? typeLabel(s.items) : "any"}`;
	const type = Array.isArray(s.type) ? s.type.join(" | ") : s.type || "any";
	return s.format ? `${type} (${s.format})` : type;
}

function range(min, max, unit) {
	const n = (v) => (typeof v === "number" ? v.toLocaleString("en-US") : v);
	[min, max] = [n(min), n(max)];
	if (min !== undefined && max !== undefined) return min === max ? `exactly ${min}${unit}` : `${min}–${max}${unit}`;
	if (min !== undefined) return `≥ ${min}${unit}`;
	if (max !== undefined) return `≤ ${max}${unit}`;
	return undefined;
}

/** The constraints of a schema as short phrases: "3–32 chars", "pattern ^…$", "default 50". */
function rules(schema) {
	const s = resolve(schema);
	const out = [];
	const chars = range(s.minLength, s.maxLength, " chars");
	if (chars) out.push(chars);
	const value = range(s.minimum, s.maximum, "");
	if (value) out.push(value);
	const items = range(s.minItems, s.maxItems, " items");
	if (items) out.push(items);
	if (s.uniqueItems) out.push("unique");
	if (s.type === "array" && s.items) {
		const each = rules(s.items);
		if (each.length) out.push(h("span", {}, "each: ", ...each.flatMap((r, i) => (i ? [", ", r] : [r]))));
	}
	if (s.pattern) out.push(h("span", {}, "pattern ", h("code", {}, s.pattern)));
	if (s.default !== undefined) out.push(h("span", {}, "default ", h("code", {}, JSON.stringify(s.default))));
	if (s.description) out.push(h("span", {}, inline(s.description)));
	return out;
}

function rulesCell(schema) {
	const list = rules(schema);
	return h("td", {}, list.length ? list.flatMap((r, i) => (i ? ["; ", r] : [r])) : h("span", { class: "muted" }, "—"));
}

function paramTable(params) {
	return h(
		"table",
		{},
		h("tr", {}, h("th", {}, "Name"), h("th", {}, "In"), h("th", {}, "Type"), h("th", {}, "Rules")),
		params.map((p) =>
			h(
				"tr",
				{},
				h(
					"td",
					{},
					h("code", {}, p.name),
					p.required ? h("span", { class: "req", title: "required" }, "required") : null,
				),
				h("td", {}, p.in),
				h("td", {}, h("code", {}, typeLabel(p.schema))),
				rulesCell(p.schema),
			),
		),
	);
}

function bodyBlock(body) {
	const content = body.content || {};
	const schemas = Object.values(content).map((m) => m.schema);
	const shared = schemas.every((s) => JSON.stringify(s) === JSON.stringify(schemas[0]));
	const block = h("div", {});
	const show = (schema) => {
		const s = resolve(schema);
		if (s.type === "object" && s.properties) {
			const required = new Set(s.required || []);
			block.append(
				h(
					"table",
					{},
					h("tr", {}, h("th", {}, "Field"), h("th", {}, "Type"), h("th", {}, "Rules")),
					Object.entries(s.properties).map(([name, prop]) =>
						h(
							"tr",
							{},
							h("td", {}, h("code", {}, name), required.has(name) ? h("span", { class: "req" }, "required") : null),
							h("td", {}, h("code", {}, typeLabel(prop))),
							rulesCell(prop),
						),
					),
				),
			);
			if (s.additionalProperties === false) block.append(h("p", { class: "muted" }, "No other fields are accepted."));
		} else {
			block.append(h("p", {}, h("code", {}, typeLabel(s)), s.description ? [" — ", inline(s.description)] : null));
		}
	};
	if (shared) {
		block.append(
			h(
				"div",
				{ class: "types" },
				Object.keys(content).map((t) => h("span", { class: "type-chip mono" }, t)),
			),
		);
		show(schemas[0]);
	} else {
		for (const [type, media] of Object.entries(content)) {
			block.append(h("div", { class: "types" }, h("span", { class: "type-chip mono" }, type)));
			show(media.schema);
		}
	}
	return block;
}

function responsesBlock(responses) {
	return h(
		"div",
		{ class: "responses" },
		Object.entries(responses).flatMap(([status, response]) => {
			const r = resolve(response);
			const ok = /^[23]/.test(status);
			const headers = Object.keys(r.headers || {});
			const body = r.content && Object.values(r.content)[0] && refName(Object.values(r.content)[0].schema);
			return [
				h("span", { class: `status mono ${ok ? "ok" : "err"}` }, status),
				h(
					"span",
					{},
					inline(r.description || ""),
					headers.length ? h("span", { class: "muted" }, ` Header: ${headers.join(", ")}.`) : null,
					body ? h("span", { class: "muted" }, " Body: ", h("a", { href: `#schema-${body}` }, body), ".") : null,
				),
			];
		}),
	);
}

function operationCard(path, method, op) {
	const secured = (op.security || spec.security || []).length > 0;
	return h(
		"section",
		{
			class: "op",
			id: op.operationId,
			"data-search": `${method} ${path} ${op.summary || ""} ${op["x-moleculer-action"] || ""}`.toLowerCase(),
		},
		h(
			"div",
			{ class: "op-head" },
			h("span", { class: `method ${method}` }, method.toUpperCase()),
			h("span", { class: "op-path mono" }, path),
			secured
				? h("span", { class: "badge", title: "Send Authorization: Bearer <access_token>" }, "Bearer token")
				: h("span", { class: "badge" }, "public"),
		),
		op.summary ? h("p", { class: "op-summary" }, inline(op.summary)) : null,
		op.parameters && op.parameters.length ? [h("h4", {}, "Parameters"), paramTable(op.parameters)] : null,
		op.requestBody
			? [h("h4", {}, op.requestBody.required ? "Request body (required)" : "Request body"), bodyBlock(op.requestBody)]
			: null,
		h("h4", {}, "Responses"),
		responsesBlock(op.responses || {}),
	);
}

function render() {
	document.title = spec.info.title;
	document.getElementById("title").textContent = `${spec.info.title} `;
	document.getElementById("title").append(h("span", { class: "badge" }, `v${spec.info.version}`));
	document.getElementById("description").replaceChildren(...inline(spec.info.description || ""));

	const byTag = new Map((spec.tags || []).map((t) => [t.name, []]));
	for (const [path, item] of Object.entries(spec.paths || {})) {
		for (const [method, op] of Object.entries(item)) {
			const tag = (op.tags && op.tags[0]) || "other";
			if (!byTag.has(tag)) byTag.set(tag, []);
			byTag.get(tag).push({ path, method, op });
		}
	}

	const toc = document.getElementById("toc");
	const content = document.getElementById("content");
	toc.replaceChildren();
	content.replaceChildren();
	for (const [tag, ops] of byTag) {
		if (!ops.length) continue;
		toc.append(
			h("h3", {}, tag),
			h(
				"ul",
				{},
				ops.map(({ path, method, op }) =>
					h(
						"li",
						{ "data-op": op.operationId },
						h(
							"a",
							{ href: `#${op.operationId}` },
							h("span", { class: `method ${method}` }, method.toUpperCase()),
							h("span", { class: "mono" }, path),
						),
					),
				),
			),
		);
		content.append(
			h("h2", { id: `tag-${tag}` }, tag),
			...ops.map(({ path, method, op }) => operationCard(path, method, op)),
		);
	}

	const schemes = Object.entries((spec.components && spec.components.securitySchemes) || {});
	const schemas = Object.entries((spec.components && spec.components.schemas) || {}).filter(
		([name]) => name === "Error",
	);
	content.append(
		h("h2", { id: "authentication" }, "Authentication"),
		h(
			"div",
			{ class: "op" },
			schemes.map(([name, s]) =>
				h(
					"p",
					{},
					h("code", {}, name),
					`: HTTP ${s.scheme}${s.bearerFormat ? ` (${s.bearerFormat})` : ""}. `,
					"Get a token from ",
					h("code", {}, "POST /login"),
					" and send ",
					h("code", {}, "Authorization: Bearer <access_token>"),
					".",
				),
			),
		),
		...schemas.flatMap(([name, schema]) => [
			h("h2", { id: `schema-${name}` }, "Errors"),
			h(
				"div",
				{ class: "op" },
				h("p", {}, "Every error answers with this body."),
				bodyBlock({ content: { "application/json": { schema } } }),
			),
		]),
	);
	if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

document.getElementById("filter").addEventListener("input", (event) => {
	const q = event.target.value.trim().toLowerCase();
	for (const card of document.querySelectorAll(".op[data-search]")) {
		const hidden = q !== "" && !card.dataset.search.includes(q);
		card.hidden = hidden;
		const entry = document.querySelector(`li[data-op="${card.id}"]`);
		if (entry) entry.hidden = hidden;
	}
});

fetch("/openapi.json", { headers: { Accept: "application/json" } })
	.then((res) => {
		if (!res.ok) throw new Error(`HTTP ${res.status}`);
		return res.json();
	})
	.then((doc) => {
		spec = doc;
		render();
	})
	.catch((err) => {
		document
			.getElementById("content")
			.replaceChildren(h("p", { class: "error" }, `Could not load /openapi.json: ${err.message}`));
	});
