/**
 * Chat text as people write it in roleplay: `*waves*` in italics and a small, safe subset of Markdown (emphasis, code,
 * lists, quotes, links, line breaks). Raw HTML is never passed through: markdown-it escapes it (`html: false`) and
 * refuses javascript:, vbscript: and data: links; images, tables and headings are not enabled at all.
 */
import MarkdownIt from "markdown-it";

const markdown = new MarkdownIt("zero", { html: false, breaks: true, linkify: false, typographer: false }).enable([
	"blockquote",
	"fence",
	"list",
	"backticks",
	"emphasis",
	"escape",
	"entity",
	"link",
	"autolink",
	"newline",
]);

// Links leave the app in a new tab, and the page they open gets neither this window nor the chat's address.
markdown.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
	tokens[idx]!.attrSet("target", "_blank");
	tokens[idx]!.attrSet("rel", "noopener noreferrer");
	return self.renderToken(tokens, idx, options);
};

/** HTML for a message's text, also a partial one while it streams: the subset's tags only, the rest as text. */
export function renderMarkdown(text: string): string {
	return markdown.render(text);
}
