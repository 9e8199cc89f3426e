/** The handful of line icons the client uses, inline so nothing is fetched. Decorative: buttons carry the label. */
import type { ComponentChildren } from "preact";

function Icon({ children, size = 20 }: { children: ComponentChildren; size?: number }) {
	return (
		<svg
			width={size}
			height={size}
			viewBox="0 0 24 24"
			fill="none"
			stroke="currentColor"
			stroke-width="2"
			stroke-linecap="round"
			stroke-linejoin="round"
			aria-hidden="true"
		>
			{children}
		</svg>
	);
}

export const SendIcon = () => (
	<Icon>
		<path d="M5 12h13M13 6l6 6-6 6" />
	</Icon>
);
export const StopIcon = () => (
	<Icon>
		<rect x="7" y="7" width="10" height="10" rx="2" fill="currentColor" stroke="none" />
	</Icon>
);
export const RegenerateIcon = () => (
	<Icon size={16}>
		<path d="M20 11a8 8 0 0 0-14.9-3.9M4 5v4h4M4 13a8 8 0 0 0 14.9 3.9M20 19v-4h-4" />
	</Icon>
);
export const ChevronLeft = () => (
	<Icon size={16}>
		<path d="M15 6l-6 6 6 6" />
	</Icon>
);
export const ChevronRight = () => (
	<Icon size={16}>
		<path d="M9 6l6 6-6 6" />
	</Icon>
);
export const BackIcon = () => (
	<Icon>
		<path d="M19 12H5M11 6l-6 6 6 6" />
	</Icon>
);
export const PlusIcon = () => (
	<Icon size={18}>
		<path d="M12 5v14M5 12h14" />
	</Icon>
);
export const TrashIcon = () => (
	<Icon size={16}>
		<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3" />
	</Icon>
);
export const UploadIcon = () => (
	<Icon size={18}>
		<path d="M12 16V4M7 9l5-5 5 5M5 20h14" />
	</Icon>
);
export const SearchIcon = () => (
	<Icon size={18}>
		<circle cx="11" cy="11" r="7" />
		<path d="M20 20l-3.5-3.5" />
	</Icon>
);
export const HistoryIcon = () => (
	<Icon>
		<path d="M4 6h16M4 12h16M4 18h10" />
	</Icon>
);
export const CloseIcon = () => (
	<Icon size={18}>
		<path d="M6 6l12 12M18 6L6 18" />
	</Icon>
);
export const MoreIcon = () => (
	<Icon size={18}>
		<circle cx="5" cy="12" r="1.4" fill="currentColor" />
		<circle cx="12" cy="12" r="1.4" fill="currentColor" />
		<circle cx="19" cy="12" r="1.4" fill="currentColor" />
	</Icon>
);
export const EditIcon = () => (
	<Icon size={16}>
		<path d="M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16v4zM13.5 6.5l4 4" />
	</Icon>
);
export const CopyIcon = () => (
	<Icon size={16}>
		<rect x="9" y="9" width="11" height="11" rx="2" />
		<path d="M5 15V6a2 2 0 0 1 2-2h9" />
	</Icon>
);
export const BranchIcon = () => (
	<Icon size={16}>
		<circle cx="6" cy="5" r="2" />
		<circle cx="6" cy="19" r="2" />
		<circle cx="18" cy="8" r="2" />
		<path d="M6 7v10M18 10c0 4-6 3-11.2 7.4" />
	</Icon>
);
export const ContinueIcon = () => (
	<Icon size={16}>
		<path d="M4 12h10M10 6l6 6-6 6M20 5v14" />
	</Icon>
);
export const QuillIcon = () => (
	<Icon size={16}>
		<path d="M20 4C12 4 7 9 6 18l-2 2M6 18c5 0 9-2 11-7h-5c3-1 5-3 6-7" />
	</Icon>
);
export const PinIcon = ({ size = 16 }: { size?: number }) => (
	<Icon size={size}>
		<path d="M9 4h6l-1 6 4 3v2H6v-2l4-3-1-6zM12 15v6" />
	</Icon>
);
export const BookIcon = () => (
	<Icon size={18}>
		<path d="M5 4.5A1.5 1.5 0 0 1 6.5 3H19v15H6.5A1.5 1.5 0 0 0 5 19.5v-15zM5 19.5A1.5 1.5 0 0 0 6.5 21H19" />
	</Icon>
);
export const MemoryIcon = () => (
	<Icon>
		<path d="M6 4h12v16l-6-4-6 4V4z" />
	</Icon>
);
export const InspectIcon = () => (
	<Icon size={16}>
		<circle cx="11" cy="11" r="6" />
		<path d="M20 20l-4.5-4.5M11 8.5v.01M11 11v3" />
	</Icon>
);
export const DownloadIcon = () => (
	<Icon size={16}>
		<path d="M12 4v11M7 10l5 5 5-5M5 20h14" />
	</Icon>
);
export const UserIcon = () => (
	<Icon size={18}>
		<circle cx="12" cy="8" r="4" />
		<path d="M4 21a8 8 0 0 1 16 0" />
	</Icon>
);
export const UsersIcon = () => (
	<Icon size={18}>
		<circle cx="9" cy="8" r="3.5" />
		<path d="M2.5 20a6.5 6.5 0 0 1 13 0" />
		<path d="M15.5 4.6a3.5 3.5 0 0 1 0 6.8M17.5 14.2a6.5 6.5 0 0 1 4 5.8" />
	</Icon>
);
