import { describe, expect, it } from 'vitest';
import {
  classifyNodePlatform,
  filterDeclaredCommands,
  RAW_INVOKE_FORBIDDEN,
  requiredApproveScopes,
} from '../../gateway/nodes/node-commands';

describe('node command policy (docs/protocol.md § Nodes)', () => {
  it('classifies a node by platform, then by device family', () => {
    expect(classifyNodePlatform('win32')).toBe('windows');
    expect(classifyNodePlatform('darwin')).toBe('macos');
    expect(classifyNodePlatform(' Linux ')).toBe('linux');
    expect(classifyNodePlatform(undefined, 'iPhone')).toBe('ios');
    expect(classifyNodePlatform('', 'Android phone')).toBe('android');
    expect(classifyNodePlatform('plan9', 'toaster')).toBe('unknown');
  });

  it("cuts declared commands to the platform's list, once each, in declared order", () => {
    const declared = ['system.notify', 'canvas.eval', 'system.run', 'system.run', 'made.up'];
    expect(filterDeclaredCommands(declared, 'linux')).toEqual(['system.notify', 'system.run']);
    expect(filterDeclaredCommands(declared, 'macos')).toEqual(['system.notify', 'canvas.eval', 'system.run']);
    expect(filterDeclaredCommands(declared, 'unknown')).toEqual([]);
  });

  it('lets dangerous commands through only when allowed by name, and deny always wins', () => {
    expect(filterDeclaredCommands(['camera.snap', 'system.run'], 'macos')).toEqual(['system.run']);
    expect(filterDeclaredCommands(['camera.snap'], 'macos', { allowCommands: ['camera.snap'] })).toEqual([
      'camera.snap',
    ]);
    expect(
      filterDeclaredCommands(['system.run', 'made.up'], 'linux', {
        allowCommands: ['made.up', 'system.run'],
        denyCommands: ['system.run'],
      }),
    ).toEqual(['made.up']);
  });

  it('asks admin to approve any system.* surface, write for other commands, pairing alone for none', () => {
    expect(requiredApproveScopes(['system.which'])).toEqual(['operator.pairing', 'operator.admin']);
    expect(requiredApproveScopes(['system.notify', 'canvas.eval'])).toEqual(['operator.pairing', 'operator.admin']);
    expect(requiredApproveScopes(['canvas.eval'])).toEqual(['operator.pairing', 'operator.write']);
    expect(requiredApproveScopes([])).toEqual(['operator.pairing']);
  });

  it('reserves the exec-approvals commands for exec.approvals.node.*', () => {
    expect([...RAW_INVOKE_FORBIDDEN].sort()).toEqual(['system.execApprovals.get', 'system.execApprovals.set']);
  });
});
