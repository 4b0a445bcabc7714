import { z } from 'zod';
import { THEME_CHOICES, type InvokeApi, type InvokeMethod } from '../../common/ipc-contract';
import { OPENCLAW_VERSION_PATTERN } from '../../gateway/openclaw/installer';
import { APPROVAL_DECISIONS } from '../../gateway/protocol/exec-vocabulary';
import { LANGUAGE_TAG } from '../main-language';

/** Argument schemas for every IPC method; the mapped type keeps them in step with InvokeApi. */
const id = z.string().min(1).max(256);
const decision = z.enum(APPROVAL_DECISIONS);
const role = z.string().min(1).max(64);
/** A saved gateway's name as gateway/remote/saved-gateways.ts accepts it (openclaw-config is refused there). */
const gatewayName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const newRemoteGateway = z
  .object({
    name: gatewayName,
    url: z
      .string()
      .min(1)
      .max(2048)
      .regex(/^wss?:\/\//i)
      .optional(),
    sshTarget: z.string().min(1).max(512).optional(),
    remotePort: z.number().int().min(1).max(65535).optional(),
    auth: z.enum(['token', 'password', 'device-token', 'none']),
    secret: z.string().min(1).max(4096).optional(),
    runner: z.boolean(),
    tlsFingerprint: z.string().min(1).max(200).optional(),
    systemTrust: z.boolean().optional(),
    advertisedFingerprint: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((g) => Boolean(g.url) !== Boolean(g.sshTarget), { message: 'give either a URL or an SSH target' });

type ArgSchemas = { [K in InvokeMethod]: z.ZodType<Parameters<InvokeApi[K]>> };

export const IPC_ARG_SCHEMAS: ArgSchemas = {
  getStatus: z.tuple([]),
  controlGateway: z.tuple([z.enum(['start', 'stop', 'restart'])]),
  openControlUi: z.tuple([]),
  setStartAtLogin: z.tuple([z.boolean()]),
  setTheme: z.tuple([z.enum(THEME_CHOICES)]),
  setLanguage: z.tuple([z.string().max(35).regex(LANGUAGE_TAG).nullable()]),
  dismissNotice: z.tuple([z.string().min(1).max(200)]),
  getOpenclawInstall: z.tuple([]),
  installOpenclaw: z.tuple([]),
  cancelOpenclawInstall: z.tuple([]),
  // Plain semver only: a pin can never become a dist-tag, a URL or a path for npm.
  setOpenclawPinnedVersion: z.tuple([z.string().max(64).regex(OPENCLAW_VERSION_PATTERN).nullable()]),
  uninstallOpenclaw: z.tuple([]),
  listDevices: z.tuple([]),
  approveDevice: z.tuple([id]),
  rejectDevice: z.tuple([id]),
  removeDevice: z.tuple([id]),
  rotateDeviceToken: z.tuple([id, role]),
  revokeDeviceToken: z.tuple([id, role]),
  listNodes: z.tuple([]),
  listPendingApprovals: z.tuple([]),
  resolveApproval: z.tuple([id, decision]),
  queryApprovalHistory: z.tuple([
    z
      .object({
        text: z.string().max(512).optional(),
        decision: z.enum(['allow-once', 'allow-always', 'deny', 'expired', 'no-decision']).optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
  ]),
  exportApprovalHistory: z.tuple([z.enum(['json', 'csv'])]),
  getExecPolicy: z.tuple([]),
  applyPolicyPreset: z.tuple([z.enum(['locked-down', 'ask-every-time', 'allowlist-ask-on-miss', 'trusted'])]),
  getState: z.tuple([]),
  migrateState: z.tuple([z.boolean()]),
  getMigrationProgress: z.tuple([]),
  cancelMigration: z.tuple([]),
  getSecrets: z.tuple([]),
  acceptPlaintextKeyStorage: z.tuple([]),
  getLogs: z.tuple([z.number().int().min(1).max(5000)]),
  getGatewayLog: z.tuple([z.number().int().min(1).max(1_048_576)]),
  exportSupportBundle: z.tuple([]),
  getApprovalPrompt: z.tuple([]),
  decideApprovalPrompt: z.tuple([id, decision]),
  openExternal: z.tuple([z.string().max(2048)]),
  listRemoteGateways: z.tuple([]),
  addRemoteGateway: z.tuple([newRemoteGateway]),
  removeRemoteGateway: z.tuple([gatewayName]),
  setPrimaryRemoteGateway: z.tuple([gatewayName]),
  setRemoteGatewayRunner: z.tuple([gatewayName, z.boolean()]),
  listDiscoveredGateways: z.tuple([]),
};
