// Type declarations for the Node.js pipes client (see index.js and docs/protocol.md).

export const PROTOCOL_VERSION: '0.1';

export class PipesError extends Error {}

/** A number that is always written with a decimal point (1 -> 1.0). */
export class FloatValue { constructor(value: number); readonly value: number; }

export interface MetadataEntry { type: string; raw_value: unknown }
export type MetadataValue = MetadataEntry | string | number | bigint | boolean | null | Date | object;

export const meta: {
  text(v: string): MetadataEntry; url(v: string): MetadataEntry; path(v: string): MetadataEntry;
  md(v: string): MetadataEntry; notebook(v: string): MetadataEntry; int(v: number | bigint): MetadataEntry;
  float(v: number): MetadataEntry; bool(v: boolean): MetadataEntry; timestamp(v: number | Date): MetadataEntry;
  json(v: unknown): MetadataEntry; null(): MetadataEntry; asset(v: string | string[]): MetadataEntry;
  dagsterRun(v: string): MetadataEntry;
};

export interface ParamsLoader { isPipesProcess(): boolean; loadContextParams(): object; loadMessagesParams(): object }
export interface Channel { writeLine(line: string): void; close(): void }
export interface MessageWriter { open(params: object): Channel; getOpenedExtras?(): object }
export interface ContextLoader { loadContext(params: object): Record<string, unknown> }
export interface OpenOptions { paramsLoader?: ParamsLoader; contextLoader?: ContextLoader; messageWriter?: MessageWriter }

export class PipesContext {
  static isInitialized(): boolean;
  static get(): PipesContext;
  static set(ctx: PipesContext | null): void;
  readonly log: { debug(m: string): void; info(m: string): void; warning(m: string): void; warn(m: string): void;
                  error(m: string): void; critical(m: string): void; log(level: string, m: string): void };
  readonly isClosed: boolean;
  readonly isAssetStep: boolean;
  readonly assetKey: string;
  readonly assetKeys: string[];
  readonly codeVersion: string | null;
  readonly codeVersionByAssetKey: Record<string, string | null>;
  readonly provenance: object | null;
  readonly provenanceByAssetKey: Record<string, object | null>;
  readonly isPartitionStep: boolean;
  readonly partitionKey: string;
  readonly partitionKeyRange: { start: string; end: string };
  readonly partitionTimeWindow: { start: string; end: string } | null;
  readonly runId: string;
  readonly jobName: string | null;
  readonly retryNumber: number;
  readonly extras: Record<string, unknown>;
  getExtra(key: string): unknown;
  hasFeature(name: string): boolean;
  reportAssetMaterialization(opts?: { metadata?: Record<string, MetadataValue> | null; dataVersion?: string | null; assetKey?: string | string[] | null }): void;
  reportAssetCheck(opts: { checkName: string; passed: boolean; severity?: 'ERROR' | 'WARN'; metadata?: Record<string, MetadataValue> | null; assetKey?: string | string[] | null }): void;
  reportCustomMessage(payload: unknown): void;
  progress(current: number, opts?: { total?: number | null; message?: string | null; assetKey?: string | null }): void;
  reportOutput(value: unknown, opts?: { assetKey?: string | null; metadata?: Record<string, MetadataValue> | null }): string;
  close(err?: unknown): void;
}

export class MappingParamsLoader implements ParamsLoader {
  constructor(mapping: Record<string, unknown>, source?: string);
  isPipesProcess(): boolean; loadContextParams(): object; loadMessagesParams(): object;
}
export class DefaultParamsLoader implements ParamsLoader {
  constructor(opts?: { env?: Record<string, string | undefined>; argv?: string[] });
  isPipesProcess(): boolean; loadContextParams(): object; loadMessagesParams(): object;
}
export class DefaultContextLoader implements ContextLoader { loadContext(params: object): Record<string, unknown> }
export class DefaultMessageWriter implements MessageWriter { open(params: object): Channel; getOpenedExtras(): object }
export class FileChannel implements Channel { constructor(path: string); writeLine(line: string): void; close(): void }
export class StreamChannel implements Channel { constructor(fd: number); writeLine(line: string): void; close(): void }
export class BufferedStreamChannel implements Channel { constructor(fd: number); writeLine(line: string): void; close(): void }

export function openPipes(opts?: OpenOptions): PipesContext;
export const openDagsterPipes: typeof openPipes;
export function withPipes<T>(fn: (pipes: PipesContext) => T | Promise<T>, opts?: OpenOptions): Promise<T>;
export function decodeBootstrap(value: string | object, where: string): Record<string, unknown>;
export function escapeAssetKey(parts: string | string[]): string;
export function unescapeAssetKey(s: string): string[];
export function inferEntry(value: unknown, name?: string): MetadataEntry;
export function errorToPipes(err: unknown): object | null;
export function toJson(value: unknown): string;
