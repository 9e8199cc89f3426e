import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../web/src/markdown.js";

describe("renderMarkdown", () => {
	it("should render *actions* in italics and keep line breaks", () => {
		expect(renderMarkdown("*waves*\nHello there")).toBe("<p><em>waves</em><br>\nHello there</p>\n");
	});

	it("should render the subset: strong, code, lists, quotes", () => {
		const html = renderMarkdown("**bold** `x<y`\n\n- one\n- two\n\n1. first\n\n> said\n\n```\na <b>\n```");
		expect(html).toContain("<strong>bold</strong> <code>x&lt;y</code>");
		expect(html).toContain("<ul>\n<li>one</li>\n<li>two</li>\n</ul>");
		expect(html).toContain("<ol>\n<li>first</li>\n</ol>");
		expect(html).toContain("<blockquote>\n<p>said</p>\n</blockquote>");
		expect(html).toContain("<pre><code>a &lt;b&gt;\n</code></pre>");
	});

	it("should open links in a new tab without handing over the window or the address", () => {
		expect(renderMarkdown("[map](https://example.com/coast)")).toBe(
			'<p><a href="https://example.com/coast" target="_blank" rel="noopener noreferrer">map</a></p>\n',
		);
	});

	it.each([
		["<img src=x onerror=window.__xss=1>", "<p>&lt;img src=x onerror=window.__xss=1&gt;</p>\n"],
		["<script>window.__xss=1</script>", "<p>&lt;script&gt;window.__xss=1&lt;/script&gt;</p>\n"],
		["[x](javascript:window.__xss=1)", "<p>[x](javascript:window.__xss=1)</p>\n"],
		["[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>\n"],
		["[x](vbscript:msgbox)", "<p>[x](vbscript:msgbox)</p>\n"],
		["[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"],
		["<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>\n"],
		[
			'<a href="https://x" onclick="y">z</a>',
			"<p>&lt;a href=&quot;https://x&quot; onclick=&quot;y&quot;&gt;z&lt;/a&gt;</p>\n",
		],
	])("should never pass raw HTML or a script link through: %s", (text, html) => {
		expect(renderMarkdown(text)).toBe(html);
	});

	it("should leave images, tables and headings as text", () => {
		const html = renderMarkdown("![i](https://x/y.png)\n\n# Title\n\n| a |\n|---|\n| 1 |");
		expect(html).not.toMatch(/<(img|table|h1)\b/);
	});

	it("should render a partial reply the same way (an unclosed emphasis stays text)", () => {
		expect(renderMarkdown("*waves")).toBe("<p>*waves</p>\n");
		expect(renderMarkdown("")).toBe("");
	});
});
