/**
 * Choosing who you play: your personas (GET /personas, the default first) in a labelled select. Used when a new chat
 * starts (the choice goes into its address, then the handshake's `persona_id`) and in the chat header (the session
 * switches to it).
 */
import { useEffect, useState } from "preact/hooks";
import { api, type Persona } from "../api";
import { Avatar } from "./Avatar";

/** Your personas, default first; null until they arrive (or when they could not be read). */
export function usePersonas(): Persona[] | null {
	const [personas, setPersonas] = useState<Persona[] | null>(null);
	useEffect(() => {
		let live = true;
		api<Persona[]>("/personas").then(
			(list) => live && setPersonas(list),
			() => undefined,
		);
		return () => {
			live = false;
		};
	}, []);
	return personas;
}

export function PersonaSelect({
	personas,
	value,
	onChange,
	label = "Play as",
	disabled = false,
	compact = false,
}: {
	personas: Persona[];
	/** The chosen persona's id. */
	value: string | undefined;
	onChange: (persona: Persona) => void;
	label?: string;
	disabled?: boolean;
	/** In a header: the label is for screen readers only. */
	compact?: boolean;
}) {
	return (
		<label class={compact ? "persona-select compact" : "field persona-select"}>
			<span class={compact ? "visually-hidden" : undefined}>{label}</span>
			<select
				value={value}
				disabled={disabled}
				onChange={(e) => {
					const chosen = personas.find((p) => p.id === e.currentTarget.value);
					if (chosen) onChange(chosen);
				}}
			>
				{personas.map((p) => (
					<option key={p.id} value={p.id}>
						{p.is_default && !compact ? `${p.name} (default)` : p.name}
					</option>
				))}
			</select>
		</label>
	);
}

/** "Playing as" in a chat's or a room's header: who you play there, with their picture; nothing until both are known. */
export function PersonaSwitch({
	personas,
	persona,
	onSwitch,
}: {
	/** Your personas; null until they arrive. */
	personas: Persona[] | null;
	/** Who you play there; null until known. */
	persona: { id: string; name: string } | null;
	onSwitch: (persona: Persona) => void;
}) {
	if (!personas || !persona) return null;
	return (
		<div class="persona-switch">
			<Avatar name={persona.name} size="sm" persona={personas.find((p) => p.id === persona.id)} />
			<PersonaSelect compact label="Playing as" personas={personas} value={persona.id} onChange={onSwitch} />
		</div>
	);
}
