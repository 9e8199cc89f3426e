/**
 * The placeholders of character cards, filled where people read them (prompts, stored greetings). As SillyTavern
 * does: `{{char}}`/`{{user}}` in any case and with inner spaces, and the legacy `<BOT>`/`<USER>`. No imports, so the
 * browser client can use it too.
 */
export function applyMacros(text: string, charName: string, userName: string): string {
	return text.replace(/\{\{\s*char\s*\}\}|<BOT>/gi, charName).replace(/\{\{\s*user\s*\}\}|<USER>/gi, userName);
}
