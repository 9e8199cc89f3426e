/**
 * Choosing how a new chat opens: who you play in it (when you have more than one persona), the card's first message
 * or one of its alternate greetings, as the reader will see them (names filled in, `{{user}}` as the chosen persona),
 * and a button that opens a new chat with the chosen ones (`?greeting=n&persona=id`).
 */
import { useEffect, useState } from "preact/hooks";
import { api, type CharacterDetails, type Persona, type User } from "../api";
import { filled } from "../format";
import { chatHash, navigate, newChatHash } from "../router";
import { Modal } from "./Modal";
import { PersonaSelect, usePersonas } from "./PersonaPicker";
import { PlusIcon } from "./icons";

/** The greetings to choose from (none when the card has one only) and the New chat button. */
export function GreetingPicker({
	character,
	user,
	primary = true,
	onStart,
}: {
	character: CharacterDetails;
	user: User | null;
	/** The main action where it is shown. */
	primary?: boolean;
	/** Called once the new chat is opened (a dialog around the picker closes). */
	onStart?: () => void;
}) {
	const [chosen, setChosen] = useState(0);
	const personas = usePersonas();
	const [persona, setPersona] = useState<Persona>();
	const playing = persona ?? personas?.[0];
	const you = playing ?? user;
	const greetings = [character.greeting, ...character.alternate_greetings];
	return (
		<>
			{personas && personas.length > 1 && (
				<PersonaSelect personas={personas} value={playing?.id} onChange={setPersona} />
			)}
			{greetings.length > 1 && (
				<fieldset class="greeting-picker">
					<legend>Start a new chat with…</legend>
					{greetings.map((text, i) => (
						<label class={i === chosen ? "greeting-option chosen" : "greeting-option"} key={i}>
							<input type="radio" name="greeting" value={i} checked={i === chosen} onChange={() => setChosen(i)} />
							<span class="greeting-label">{i === 0 ? "First message" : `Alternate greeting ${i}`}</span>
							<span class="greeting-text">
								{text.trim() ? filled(text, character.name, you) : "(no greeting: you start)"}
							</span>
						</label>
					))}
				</fieldset>
			)}
			<button
				type="button"
				class={primary ? "button primary wide" : "button wide"}
				onClick={() => {
					navigate(newChatHash(character.id, chosen, playing?.id));
					onStart?.();
				}}
			>
				<PlusIcon /> New chat
			</button>
		</>
	);
}

/**
 * The chat page's New chat: a new chat at once when the card has one greeting and you one persona, else a dialog to
 * choose which greeting it opens with and whom you play.
 */
export function NewChatButton({ characterId, user }: { characterId: string; user: User | null }) {
	const [choosing, setChoosing] = useState<CharacterDetails | null>(null);
	const [asking, setAsking] = useState(false);

	useEffect(() => setChoosing(null), [characterId]);

	async function start() {
		setAsking(true);
		try {
			const [character, personas] = await Promise.all([
				api<CharacterDetails>(`/characters/id/${encodeURIComponent(characterId)}`),
				api<Persona[]>("/personas").catch(() => []),
			]);
			if (character.alternate_greetings.length > 0 || personas.length > 1) return setChoosing(character);
		} catch {
			// The chat page says what is wrong with the character; a new chat is what was asked for.
		} finally {
			setAsking(false);
		}
		navigate(chatHash(characterId));
	}

	return (
		<>
			<button type="button" class="button primary wide" disabled={asking} onClick={() => void start()}>
				<PlusIcon /> New chat
			</button>
			{choosing && (
				<Modal title={`New chat with ${choosing.name}`} onClose={() => setChoosing(null)}>
					<div class="sheet-chat">
						<GreetingPicker character={choosing} user={user} onStart={() => setChoosing(null)} />
					</div>
				</Modal>
			)}
		</>
	);
}
