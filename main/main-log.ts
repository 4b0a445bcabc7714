import type { LogBuffer } from './log-buffer';

export type MainLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** The gateway-side log every main module writes to: kept for the Logs view, and printed unless debug. */
export type MainLog = (level: MainLogLevel, message: string, fields?: Record<string, unknown>) => void;

export function createMainLog(logs: LogBuffer, print: (line: string) => void = console.log): MainLog {
  return (level, message, fields) => {
    logs.add('gateway', level, message, fields);
    if (level !== 'debug') print(`[${level}] ${message}`);
  };
}
