/**
 * What the main process shows itself (the tray's menu and tooltip, the approval notifications' own words), in English: ICU MessageFormat, one message per
 * key. Every other catalogue in this folder has exactly these keys (test/main/main-i18n.test.ts).
 */
export const en = {
  'gateway.running': 'Gateway running on port {port}',
  'gateway.attached': 'Attached to {owner} on port {port}',
  'gateway.starting': 'Gateway starting on port {port}',
  'gateway.stopped': 'Gateway stopped',
  'gateway.degraded': 'Gateway degraded',
  'gateway.degradedWhy': 'Gateway degraded: {error}',
  'gateway.error': 'Gateway error',
  'gateway.errorWhy': 'Gateway error: {error}',
  'tooltip.approvals': '{count, plural, one {# approval waiting} other {# approvals waiting}}',
  'tooltip.pairings': '{count, plural, one {# pairing request} other {# pairing requests}}',
  'tooltip.notices': '{count, plural, one {# problem to fix} other {# problems to fix}}',
  'menu.mode': 'Gateway: {mode}',
  'menu.modeSwitch': 'Gateway mode',
  'menu.fix': 'Fix: {fix}',
  'menu.owner': 'Owner: {owner}',
  'menu.approvals': 'Pending approvals ({count, number})',
  'menu.pairings': 'Pending pairings ({count, number})',
  'menu.more': '{count, plural, one {# more waiting} other {# more waiting}}: open the dashboard',
  'menu.notices': '{count, plural, one {# problem to fix} other {# problems to fix}}: open the dashboard',
  'menu.dashboard': 'Open dashboard',
  'menu.controlUi': 'Open OpenClaw Control UI',
  'menu.start': 'Start gateway',
  'menu.stop': 'Stop gateway',
  'menu.restart': 'Restart gateway',
  'menu.restartToUpdate': 'Restart to update',
  'menu.cancelRestart': 'Cancel restart to update',
  'menu.updateChannel': 'Update channel',
  'menu.channelStable': 'Stable',
  'menu.channelBeta': 'Beta (pre-releases)',
  'menu.startAtLogin': 'Start at login',
  'menu.quit': 'Quit Clawdesk',
  'notify.deny': 'Deny',
  'notify.later': 'Later',
  'notify.openToReview': 'Open to review the full command.',
  'notify.warningsOpenToReview': 'Has warnings. Open to review the full command.',
  'notify.summaryTitle':
    '{count, plural, one {# more command waiting for approval} other {# more commands waiting for approval}}',
  'notify.summaryBody': 'Open Clawdesk to review them one at a time.',
} as const;

export type MainMessageKey = keyof typeof en;
export type MainCatalog = Record<MainMessageKey, string>;
