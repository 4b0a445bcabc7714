/**
 * The few icons the dashboard uses, from Lucide (ISC licence, bundled into app.js by esbuild: no network, no
 * font). Icons are decoration: every one is aria-hidden next to a visible text label.
 */
import {
  Activity,
  Bot,
  Check,
  CircleAlert,
  Clock,
  Cpu,
  Download,
  FileText,
  FolderTree,
  KeyRound,
  LayoutDashboard,
  LifeBuoy,
  Monitor,
  Moon,
  RefreshCw,
  Server,
  Settings,
  ShieldAlert,
  ShieldCheck,
  Sun,
  Terminal,
  TriangleAlert,
  X,
  createElement,
  type IconNode,
} from 'lucide';

export const ICONS = {
  overview: LayoutDashboard,
  activity: Activity,
  devices: Monitor,
  nodes: Cpu,
  approvals: ShieldCheck,
  policy: Settings,
  state: FolderTree,
  secrets: KeyRound,
  logs: FileText,
  support: LifeBuoy,
  server: Server,
  agent: Bot,
  terminal: Terminal,
  clock: Clock,
  allow: Check,
  deny: X,
  warning: TriangleAlert,
  alert: CircleAlert,
  danger: ShieldAlert,
  download: Download,
  refresh: RefreshCw,
  light: Sun,
  dark: Moon,
} satisfies Record<string, IconNode>;

export type IconName = keyof typeof ICONS;

export function icon(name: IconName): SVGElement {
  return createElement(ICONS[name], {
    class: `icon icon-${name}`,
    width: 16,
    height: 16,
    'aria-hidden': 'true',
    focusable: 'false',
  });
}
