import { randomUUID } from 'node:crypto';
import os from 'node:os';
import {
  ExecApprovalsError,
  ExecApprovalsStore,
  importLegacyExecApprovals,
  type ExecApprovalsSnapshot,
} from '../exec/approvals-file';
import { CLAWDESK_EXEC_DEFAULTS } from '../exec/policy';
import {
  GatewayMethodError,
  type GatewayHost,
  type GatewayModule,
  implementMethod,
  type MethodDefinition,
} from '../server/gateway-module';
import type { NodeRegistry } from '../nodes/node-registry';

/**
 * `exec.approvals.get/set` (the gateway host's file) and `exec.approvals.node.get/set` (relayed to the node's
 * `system.execApprovals.*`), all admin-only, all answering the snapshot `{path, exists, hash, file}` with the
 * socket token redacted (docs/exec-policy.md § What clients see).
 */

function toMethodError(error: unknown): never {
  if (error instanceof ExecApprovalsError)
    throw new GatewayMethodError('INVALID_REQUEST', error.message, { code: error.code });
  throw error;
}

/** Exactly the snapshot shape: no baseHash, no extra keys ([v4] ExecApprovalsNodeSnapshotSchema). */
function snapshotShape(value: unknown): ExecApprovalsSnapshot {
  const v = (value ?? {}) as Partial<ExecApprovalsSnapshot>;
  if (
    typeof v.path !== 'string' ||
    typeof v.hash !== 'string' ||
    typeof v.exists !== 'boolean' ||
    !v.file ||
    typeof v.file !== 'object'
  ) {
    throw new GatewayMethodError('UNAVAILABLE', 'node returned a malformed exec approvals snapshot', {
      code: 'BAD_NODE_PAYLOAD',
    });
  }
  const file = { ...(v.file as unknown as Record<string, unknown>) };
  if (file.socket && typeof file.socket === 'object') {
    const socket = { ...(file.socket as Record<string, unknown>) };
    delete socket.token;
    file.socket = socket;
  }
  return { path: v.path, exists: v.exists, hash: v.hash, file: file as unknown as ExecApprovalsSnapshot['file'] };
}

export interface ExecApprovalsSnapshotOptions {
  /** The gateway host's file; defaults to `<stateDir>/exec-approvals.json`. */
  store?: ExecApprovalsStore;
  /** Home for the legacy `~/.openclaw/exec-approvals.json` import; defaults to os.homedir(). */
  home?: string;
}

export class ExecApprovalsSnapshotModule implements GatewayModule {
  readonly name = 'exec-approvals-snapshot';
  private store?: ExecApprovalsStore;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly options: ExecApprovalsSnapshotOptions = {},
  ) {}

  /**
   * Like the node host: a legacy file is imported first (the gateway and Clawdesk's runner share the state dir, and
   * the gateway starts first), then a missing file is written with Clawdesk's defaults, so `exec.approvals.get`
   * always has a hash to write against (the openclaw CLI refuses to write without one).
   */
  async start(host: GatewayHost): Promise<void> {
    const store = this.options.store ?? new ExecApprovalsStore({ stateDir: host.stateDir });
    this.store = store;
    try {
      const legacy = await importLegacyExecApprovals({
        stateDir: host.stateDir,
        home: this.options.home ?? os.homedir(),
      });
      if (legacy.kind === 'imported')
        host.log('warn', `imported exec approvals from ${legacy.legacyPath} into ${legacy.targetPath}`);
      else if (legacy.kind === 'conflict' || legacy.kind === 'unreadable') host.log('warn', legacy.message);
    } catch (error) {
      host.log('warn', `legacy exec approvals check failed: ${(error as Error).message}`);
    }
    try {
      const result = await store.ensureExists(CLAWDESK_EXEC_DEFAULTS);
      if (result.created) host.log('info', `wrote the default exec approvals policy to ${store.filePath}`);
      else if (result.existing !== 'file')
        host.log(
          'warn',
          `${store.filePath} is ${result.existing === 'symlink' ? 'a symbolic link' : 'not a regular file'}; it is neither read nor written`,
        );
    } catch (error) {
      host.log(
        'warn',
        `could not write the default exec approvals policy to ${store.filePath}: ${(error as Error).message}`,
      );
    }
  }

  /** The snapshot, after writing the defaults again if the file went missing since start. */
  private async snapshot(): Promise<ExecApprovalsSnapshot> {
    await this.store!.ensureExists(CLAWDESK_EXEC_DEFAULTS).catch(() => undefined);
    return this.store!.snapshot();
  }

  events(): string[] {
    return [];
  }

  methods(): MethodDefinition[] {
    return [
      implementMethod('exec.approvals.get', () => this.snapshot().catch(toMethodError)),
      implementMethod('exec.approvals.set', ({ params }) =>
        this.store!.set(params.file, params.baseHash ?? undefined).catch(toMethodError),
      ),
      implementMethod('exec.approvals.node.get', async ({ params }) => {
        const result = await this.registry.invoke({
          nodeId: params.nodeId,
          command: 'system.execApprovals.get',
          params: {},
          idempotencyKey: randomUUID(),
          internal: true,
        });
        return snapshotShape(result.payload);
      }),
      implementMethod('exec.approvals.node.set', async ({ params }) => {
        const result = await this.registry.invoke({
          nodeId: params.nodeId,
          command: 'system.execApprovals.set',
          params: { file: params.file, ...(params.baseHash ? { baseHash: params.baseHash } : {}) },
          idempotencyKey: randomUUID(),
          internal: true,
        });
        return snapshotShape(result.payload);
      }),
    ];
  }
}
