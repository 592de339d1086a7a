'use strict';
/**
 * Node.js client of the pipes protocol (wire-compatible with Dagster Pipes 0.1). No npm deps.
 *
 *   const { openPipes, meta } = require('./pipes_client/node');
 *   const pipes = openPipes();
 *   try {
 *     pipes.log.info(`computing ${pipes.assetKey}`);
 *     pipes.reportAssetMaterialization({ metadata: { rows: 10, ratio: meta.float(1) } });
 *     pipes.close();
 *   } catch (err) { pipes.close(err); throw err; }
 *
 * or `await withPipes(async (pipes) => { ... })`, which closes with any error.
 */
const fs = require('fs');
const zlib = require('zlib');

const PROTOCOL_VERSION = '0.1';
const ENV_CONTEXT = 'DAGSTER_PIPES_CONTEXT';
const ENV_MESSAGES = 'DAGSTER_PIPES_MESSAGES';
const CLIENT_VERSION = '0.1.0';
const CONTEXT_KEYS = ['asset_keys', 'code_version_by_asset_key', 'provenance_by_asset_key',
  'partition_key', 'partition_key_range', 'partition_time_window', 'run_id', 'job_name',
  'retry_number', 'extras'];
const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
const METADATA_TYPES = ['__infer__', 'text', 'url', 'path', 'notebook', 'md', 'dagster_run', 'int',
  'float', 'bool', 'timestamp', 'json', 'null', 'asset', 'table', 'table_schema',
  'table_column_lineage'];

class PipesError extends Error {
  constructor(message) { super(message); this.name = 'PipesError'; }
}

// ------------------------------------------------------------------ JSON with typed floats

/** A number that must stay a float on the wire (JSON.stringify(1.0) would give "1"). */
class FloatValue {
  constructor(value) {
    if (typeof value !== 'number') throw new PipesError(`float metadata needs a number, got ${typeof value} ${String(value)}`);
    this.value = value;
  }
}

function floatText(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  const s = JSON.stringify(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** JSON text like JSON.stringify (compact), except FloatValue and BigInt. */
function toJson(value) {
  if (value === null || value === undefined) return 'null';
  if (value instanceof FloatValue) return floatText(value.value);
  switch (typeof value) {
    case 'string': return JSON.stringify(value);
    case 'boolean': return value ? 'true' : 'false';
    case 'number': return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint': return value.toString();
    case 'object': break;
    default: throw new PipesError(`cannot serialize ${typeof value} to JSON`);
  }
  if (typeof value.toJSON === 'function') return toJson(value.toJSON());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : toJson(v))).join(', ')}]`;
  const parts = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}: ${toJson(v)}`);
  }
  return `{${parts.join(', ')}}`;
}

// ------------------------------------------------------------------ metadata

function entry(type, rawValue) {
  if (!METADATA_TYPES.includes(type)) {
    throw new PipesError(`unknown metadata type ${JSON.stringify(type)}; use one of ${METADATA_TYPES.join(', ')}`);
  }
  return { type, raw_value: type === 'float' && typeof rawValue === 'number' ? new FloatValue(rawValue) : rawValue };
}

/** Helpers for explicit metadata entries: meta.float(1) is sent as 1.0. */
const meta = {
  text: (v) => entry('text', String(v)),
  url: (v) => entry('url', String(v)),
  path: (v) => entry('path', String(v)),
  md: (v) => entry('md', String(v)),
  notebook: (v) => entry('notebook', String(v)),
  int: (v) => {
    if (typeof v === 'bigint') return entry('int', v);
    if (!Number.isInteger(v)) throw new PipesError(`int metadata needs an integer, got ${v}`);
    return entry('int', v);
  },
  float: (v) => entry('float', v),
  bool: (v) => {
    if (typeof v !== 'boolean') throw new PipesError(`bool metadata needs true or false, got ${v}`);
    return entry('bool', v);
  },
  timestamp: (v) => entry('timestamp', v instanceof Date ? new FloatValue(v.getTime() / 1000) : new FloatValue(v)),
  json: (v) => entry('json', v),
  null: () => entry('null', null),
  asset: (v) => entry('asset', Array.isArray(v) ? escapeAssetKey(v) : String(v)),
  dagsterRun: (v) => entry('dagster_run', String(v)),
};

function isEntry(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof FloatValue)
    && Object.keys(v).length === 2 && 'type' in v && 'raw_value' in v;
}

/** The wire entry for a bare JS value (explicit types, never __infer__). */
function inferEntry(value, name) {
  if (value === null || value === undefined) return entry('null', null);
  if (value instanceof FloatValue) return { type: 'float', raw_value: value };
  if (isEntry(value)) return checkEntry(entry(value.type, value.raw_value), name);
  if (value instanceof Date) return meta.timestamp(value);
  switch (typeof value) {
    case 'string': return entry('text', value);
    case 'boolean': return entry('bool', value);
    case 'bigint': return entry('int', value);
    case 'number': return Number.isInteger(value) ? entry('int', value) : entry('float', value);
    case 'object': return entry('json', value);
    default: throw new PipesError(`metadata ${JSON.stringify(name)}: cannot infer a type for ${typeof value}`);
  }
}

function checkEntry(e, name) {
  const raw = e.raw_value instanceof FloatValue ? e.raw_value.value : e.raw_value;
  const bad = (what) => new PipesError(`metadata entry ${JSON.stringify(name)} of type '${e.type}' needs ${what}, got ${typeof raw} ${JSON.stringify(raw)}`);
  switch (e.type) {
    case 'text': case 'url': case 'path': case 'notebook': case 'md': case 'dagster_run':
      if (typeof raw !== 'string') throw bad('a string'); break;
    case 'int':
      if (!(Number.isInteger(raw) || typeof raw === 'bigint')) throw bad('an integer'); break;
    case 'float': case 'timestamp':
      if (typeof raw !== 'number') throw bad('a number');
      e.raw_value = new FloatValue(raw); break;
    case 'bool':
      if (typeof raw !== 'boolean') throw bad('true or false'); break;
    case 'asset':
      if (typeof raw !== 'string' || !raw) throw bad('an asset key string'); break;
    default: break;
  }
  return e;
}

function normalizeMetadata(metadata, method) {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new PipesError(`${method}: metadata must be an object of name -> value, got ${JSON.stringify(metadata)}`);
  }
  const out = {};
  for (const [name, value] of Object.entries(metadata)) {
    try {
      out[name] = inferEntry(value, name);
    } catch (err) {
      throw new PipesError(`${method}: ${err.message}`);
    }
  }
  return Object.keys(out).length ? out : null;
}

// ------------------------------------------------------------------ asset keys

function escapeAssetKey(parts) {
  if (typeof parts === 'string') parts = [parts];
  if (!Array.isArray(parts) || parts.length === 0 || parts.some((p) => typeof p !== 'string' || !p)) {
    throw new PipesError(`asset key ${JSON.stringify(parts)} must be a non-empty list of non-empty strings`);
  }
  return parts.map((p) => p.replace(/\\/g, '\\\\').replace(/\//g, '\\/')).join('/');
}

function unescapeAssetKey(s) {
  const parts = [];
  let buf = '';
  for (let i = 0; i < s.length; i += 1) {
    const c = s[i];
    if (c === '\\') {
      if (i + 1 >= s.length) throw new PipesError(`escaped asset key ${JSON.stringify(s)} ends with a dangling backslash`);
      buf += s[i + 1];
      i += 1;
    } else if (c === '/') {
      parts.push(buf);
      buf = '';
    } else {
      buf += c;
    }
  }
  parts.push(buf);
  if (parts[parts.length - 1] === '') parts.pop();
  if (!parts.length || parts.includes('')) throw new PipesError(`escaped asset key ${JSON.stringify(s)} has an empty component`);
  return parts;
}

// ------------------------------------------------------------------ bootstrap

function decodeBootstrap(value, where) {
  if (value !== null && typeof value === 'object') return value;
  const how = 'encode params as base64(zlib(json))';
  if (typeof value !== 'string' || !value.trim()) throw new PipesError(`${where} is empty; ${how}`);
  const text = value.trim();
  if (text[0] === '{' || text[0] === '[') throw new PipesError(`${where} looks like raw JSON, not base64(zlib(json)); ${how}`);
  if (!/^[A-Za-z0-9+/_=-]+$/.test(text)) throw new PipesError(`${where} is not valid base64: ${JSON.stringify(text.slice(0, 80))}; ${how}`);
  const raw = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (raw[0] === 0x1f && raw[1] === 0x8b) throw new PipesError(`${where} is gzip data; the protocol uses zlib (RFC 1950); ${how}`);
  let data;
  try {
    data = zlib.inflateSync(raw);
  } catch (err) {
    throw new PipesError(`${where} is base64 but not zlib data (${err.message}); ${how}`);
  }
  let params;
  try {
    params = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new PipesError(`${where} decompresses to invalid JSON (${err.message}); ${how}`);
  }
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new PipesError(`${where} must decode to a JSON object, got ${JSON.stringify(params)}`);
  }
  return params;
}

function argValue(argv, flag) {
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === flag) {
      if (i + 1 >= argv.length) throw new PipesError(`command-line flag ${flag} has no value after it`);
      return argv[i + 1];
    }
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

/** Params from a mapping holding DAGSTER_PIPES_CONTEXT / DAGSTER_PIPES_MESSAGES. */
class MappingParamsLoader {
  constructor(mapping, source = 'mapping') { this.mapping = mapping; this.source = source; }
  isPipesProcess() { return this.mapping[ENV_CONTEXT] !== undefined; }
  loadContextParams() { return decodeBootstrap(this.mapping[ENV_CONTEXT], `${ENV_CONTEXT} from the ${this.source}`); }
  loadMessagesParams() {
    if (this.mapping[ENV_MESSAGES] === undefined) throw new PipesError(`${ENV_MESSAGES} is missing from the ${this.source}`);
    return decodeBootstrap(this.mapping[ENV_MESSAGES], `${ENV_MESSAGES} from the ${this.source}`);
  }
}

/** Env vars, then --dagster-pipes-context/--dagster-pipes-messages args, then a bootstrap file. */
class DefaultParamsLoader {
  constructor({ env = process.env, argv = process.argv } = {}) {
    const ctx = argValue(argv, '--dagster-pipes-context');
    const file = argValue(argv, '--pipes-bootstrap-file') || env.PIPES_BOOTSTRAP_FILE;
    if (env[ENV_CONTEXT] !== undefined) {
      this.inner = new MappingParamsLoader(env, 'environment');
    } else if (ctx !== undefined) {
      this.inner = new MappingParamsLoader({ [ENV_CONTEXT]: ctx, [ENV_MESSAGES]: argValue(argv, '--dagster-pipes-messages') }, 'command line');
    } else if (file) {
      let data;
      try {
        data = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new PipesError(`cannot read bootstrap file ${JSON.stringify(file)}: ${err.message}`);
      }
      this.inner = new MappingParamsLoader(data, `bootstrap file ${JSON.stringify(file)}`);
    } else {
      this.inner = null;
    }
  }
  isPipesProcess() { return this.inner !== null; }
  loadContextParams() { return this.inner.loadContextParams(); }
  loadMessagesParams() { return this.inner.loadMessagesParams(); }
}

/** Context from {path}, {data} or a local {url}. */
class DefaultContextLoader {
  loadContext(params) {
    let data;
    if (params.data !== undefined) {
      data = params.data;
    } else {
      let path = params.path;
      if (path === undefined && typeof params.url === 'string') {
        if (params.url.includes('://') && !params.url.startsWith('file://')) {
          throw new PipesError(`context url ${params.url} is remote; the Node client reads local paths only (use the Python client or a path)`);
        }
        path = params.url.replace(/^file:\/\//, '');
      }
      if (path === undefined) throw new PipesError(`context params ${JSON.stringify(params)} have none of path, data, url`);
      try {
        data = JSON.parse(fs.readFileSync(path, 'utf8'));
      } catch (err) {
        throw new PipesError(`cannot read context file ${JSON.stringify(path)}: ${err.message}`);
      }
    }
    if (data === null || typeof data !== 'object') throw new PipesError('the context must be a JSON object');
    const full = {};
    for (const k of CONTEXT_KEYS) full[k] = null;
    full.extras = {};
    full.retry_number = 0;
    return Object.assign(full, data);
  }
}

// ------------------------------------------------------------------ channels

function writeAllSync(fd, text) {
  let buf = Buffer.from(text, 'utf8');
  while (buf.length) {
    let n;
    try {
      n = fs.writeSync(fd, buf);
    } catch (err) {
      if (err.code === 'EAGAIN') continue; // non-blocking pipe full: retry
      throw err;
    }
    buf = buf.subarray(n);
  }
}

class FileChannel {
  constructor(path) {
    try {
      this.fd = fs.openSync(path, 'a');
    } catch (err) {
      throw new PipesError(`cannot open the messages file ${JSON.stringify(path)} for appending: ${err.message}`);
    }
  }
  writeLine(line) { writeAllSync(this.fd, `${line}\n`); }
  close() { if (this.fd !== null) { fs.closeSync(this.fd); this.fd = null; } }
}

class StreamChannel {
  constructor(fd) { this.fd = fd; }
  writeLine(line) { writeAllSync(this.fd, `${line}\n`); }
  close() {}
}

class BufferedStreamChannel {
  constructor(fd) { this.fd = fd; this.lines = []; }
  writeLine(line) { this.lines.push(line); }
  close() {
    if (this.lines.length) writeAllSync(this.fd, this.lines.map((l) => `${l}\n`).join(''));
    this.lines = [];
  }
}

function streamFd(name) {
  if (name === 'stdout') return 1;
  if (name === 'stderr') return 2;
  throw new PipesError(`stdio must be 'stdout' or 'stderr', got ${JSON.stringify(name)}`);
}

class DefaultMessageWriter {
  open(params) {
    if (params.path !== undefined) return new FileChannel(params.path);
    if (params.stdio !== undefined) return new StreamChannel(streamFd(params.stdio));
    if (params.buffered_stdio !== undefined) return new BufferedStreamChannel(streamFd(params.buffered_stdio));
    throw new PipesError(`message params ${JSON.stringify(params)} name no channel the Node client supports (path, stdio, buffered_stdio)`);
  }
  getOpenedExtras() { return {}; }
}

class NoopChannel { writeLine() {} close() {} }

// ------------------------------------------------------------------ errors -> closed exception

function errorToPipes(err, depth = 0) {
  if (err === null || err === undefined || depth > 32) return null;
  if (!(err instanceof Error)) {
    return { name: null, message: `${String(err)}\n`, stack: [], cause: null, context: null };
  }
  const name = err.name || err.constructor.name || 'Error';
  const lines = String(err.stack || '').split('\n');
  const frames = lines.filter((l) => /^\s+at /.test(l)).map((l) => `${l}\n`);
  return {
    name,
    message: `${name}: ${err.message}\n`,
    stack: frames,
    cause: err.cause !== undefined ? errorToPipes(err.cause, depth + 1) : null,
    context: null,
  };
}

// ------------------------------------------------------------------ context

class PipesLogger {
  constructor(ctx) { this.ctx = ctx; }
  log(level, message) {
    let name = String(level).toUpperCase();
    if (name === 'WARN') name = 'WARNING';
    if (name === 'FATAL') name = 'CRITICAL';
    if (!LEVELS.includes(name)) throw new PipesError(`log level ${JSON.stringify(level)} is not one of ${LEVELS.join(', ')}`);
    this.ctx._send('log', { message: String(message), level: name });
  }
  debug(m) { this.log('DEBUG', m); }
  info(m) { this.log('INFO', m); }
  warning(m) { this.log('WARNING', m); }
  warn(m) { this.log('WARNING', m); }
  error(m) { this.log('ERROR', m); }
  critical(m) { this.log('CRITICAL', m); }
}

let instance = null;

class PipesContext {
  static isInitialized() { return instance !== null; }
  static get() {
    if (instance === null) throw new PipesError('PipesContext has not been initialized; call openPipes() first');
    return instance;
  }
  static set(ctx) { instance = ctx; }

  constructor({ paramsLoader, contextLoader, messageWriter, noop = false }) {
    this.closed = false;
    this.noop = noop;
    this.materialized = new Set();
    this.log = new PipesLogger(this);
    this.heartbeat = null;
    this.hooks = [];
    if (noop) {
      this.data = new DefaultContextLoader().loadContext({ data: { run_id: '' } });
      this.channel = new NoopChannel();
      this.features = {};
      return;
    }
    this.data = contextLoader.loadContext(paramsLoader.loadContextParams());
    this.features = (this.data.pipes_features && typeof this.data.pipes_features === 'object') ? this.data.pipes_features : {};
    this.channel = messageWriter.open(paramsLoader.loadMessagesParams());
    const extras = Object.assign({}, messageWriter.getOpenedExtras ? messageWriter.getOpenedExtras() : {});
    extras.pipes_client = { language: 'node', version: CLIENT_VERSION, features: ['progress', 'heartbeat', 'outputs', 'check_targets'] };
    this._send('opened', { extras });
    if (this.hasFeature('heartbeat')) {
      const ms = Math.max(10, 1000 * Number(this.features.heartbeat_interval || 30));
      this.heartbeat = setInterval(() => { try { this._send('heartbeat', {}); } catch (e) { /* closed */ } }, ms);
      this.heartbeat.unref();
    }
  }

  _installProcessHooks() {
    const onExit = () => { try { this.close(); } catch (e) { /* nothing left to do */ } };
    const onUncaught = (err) => { try { this.close(err); } catch (e) { /* ignore */ } };
    process.on('exit', onExit);
    process.on('uncaughtExceptionMonitor', onUncaught);
    this.hooks.push(['exit', onExit], ['uncaughtExceptionMonitor', onUncaught]);
    if (process.listenerCount('SIGTERM') === 0) {
      const onTerm = () => {
        try {
          this.close({ name: 'SIGTERM', message: 'process terminated by signal SIGTERM (15)\n', stack: [], cause: null, context: null });
        } finally {
          process.removeListener('SIGTERM', onTerm);
          process.kill(process.pid, 'SIGTERM');
        }
      };
      process.on('SIGTERM', onTerm);
      this.hooks.push(['SIGTERM', onTerm]);
    }
  }

  _send(method, params) {
    if (this.closed) throw new PipesError(`cannot send '${method}': the pipes context is already closed`);
    this.channel.writeLine(toJson({ __dagster_pipes_version: PROTOCOL_VERSION, method, params }));
  }

  /** Send closed (with `err` and its cause chain, if given) and close the channel. Idempotent. */
  close(err) {
    if (this.closed) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const params = {};
    if (err !== undefined && err !== null) {
      params.exception = (err && typeof err === 'object' && !(err instanceof Error) && 'message' in err && 'stack' in err) ? err : errorToPipes(err);
    }
    try {
      this._send('closed', params);
    } finally {
      this.closed = true;
      this.channel.close();
      for (const [event, fn] of this.hooks) process.removeListener(event, fn);
      this.hooks = [];
    }
  }

  get isClosed() { return this.closed; }

  _assets(what) {
    if (this.data.asset_keys === null) throw new PipesError(`${what} is not available: no assets are in scope (an op step)`);
    return this.data.asset_keys;
  }
  _single(what) {
    const keys = this._assets(what);
    if (keys.length !== 1) throw new PipesError(`${what} needs exactly one asset in scope, but there are ${keys.length}: ${JSON.stringify(keys)}`);
    return keys[0];
  }
  get isAssetStep() { return this.data.asset_keys !== null; }
  get assetKey() { return this._single('assetKey'); }
  get assetKeys() { return this._assets('assetKeys').slice(); }
  get codeVersion() { const k = this._single('codeVersion'); return (this.data.code_version_by_asset_key || {})[k] ?? null; }
  get codeVersionByAssetKey() { this._assets('codeVersionByAssetKey'); return Object.assign({}, this.data.code_version_by_asset_key); }
  get provenance() { const k = this._single('provenance'); return (this.data.provenance_by_asset_key || {})[k] ?? null; }
  get provenanceByAssetKey() { this._assets('provenanceByAssetKey'); return Object.assign({}, this.data.provenance_by_asset_key); }
  get isPartitionStep() { return this.data.partition_key_range !== null; }
  get partitionKey() {
    if (this.data.partition_key === null) throw new PipesError('partitionKey is not available: no single partition is in scope');
    return this.data.partition_key;
  }
  get partitionKeyRange() {
    if (this.data.partition_key_range === null) throw new PipesError('partitionKeyRange is not available: not a partitioned step');
    return this.data.partition_key_range;
  }
  get partitionTimeWindow() {
    if (this.data.partition_key_range === null) throw new PipesError('partitionTimeWindow is not available: not a partitioned step');
    return this.data.partition_time_window;
  }
  get runId() { return this.data.run_id; }
  get jobName() { return this.data.job_name; }
  get retryNumber() { return this.data.retry_number || 0; }
  get extras() { return this.data.extras || {}; }
  getExtra(key) {
    if (!(key in this.extras)) throw new PipesError(`extra ${JSON.stringify(key)} is not defined; the host passed: ${JSON.stringify(Object.keys(this.extras))}`);
    return this.extras[key];
  }
  get featureList() { return Array.isArray(this.features.features) ? this.features.features : []; }
  hasFeature(name) { return this.featureList.includes(name); }

  _resolveAssetKey(assetKey, method) {
    if (Array.isArray(assetKey)) assetKey = escapeAssetKey(assetKey);
    if (this.noop) return assetKey ?? null;
    const keys = this.data.asset_keys;
    if (assetKey === undefined || assetKey === null) {
      if (keys === null) throw new PipesError(`${method}: no assets are in scope for this step (an op)`);
      if (keys.length !== 1) throw new PipesError(`${method}: pass assetKey (asset_key), there are ${keys.length} assets in scope: ${JSON.stringify(keys)}`);
      return keys[0];
    }
    if (typeof assetKey !== 'string') throw new PipesError(`${method}: assetKey must be an escaped string or an array of parts`);
    unescapeAssetKey(assetKey);
    if (keys !== null && !keys.includes(assetKey)) {
      throw new PipesError(`${method}: asset key ${JSON.stringify(assetKey)} is not in scope for this step; the host selected ${JSON.stringify(keys)}`);
    }
    return assetKey;
  }

  /** reportAssetMaterialization({ metadata, dataVersion, assetKey }) - once per asset. */
  reportAssetMaterialization({ metadata = null, dataVersion = null, assetKey = null } = {}) {
    const method = 'report_asset_materialization';
    const key = this._resolveAssetKey(assetKey, method);
    if (dataVersion !== null && typeof dataVersion !== 'string') throw new PipesError(`${method}: dataVersion must be a string`);
    const md = normalizeMetadata(metadata, method);
    if (this.materialized.has(key) && !this.noop) {
      throw new PipesError(`${method}: asset ${JSON.stringify(key)} was already reported as materialized; report each asset once`);
    }
    this._send(method, { asset_key: key, data_version: dataVersion, metadata: md });
    this.materialized.add(key);
  }

  /** assetKey (escaped) when the host advertised checkName on it (check_targets extension). */
  _checkTarget(assetKey, checkName) {
    if (assetKey === undefined || assetKey === null || this.noop || !this.hasFeature('check_targets')) return null;
    const key = Array.isArray(assetKey) ? escapeAssetKey(assetKey) : assetKey;
    const names = (this.features.check_targets || {})[key];
    return Array.isArray(names) && names.includes(checkName) ? key : null;
  }

  /** reportAssetCheck({ checkName, passed, severity = 'ERROR', metadata, assetKey }) - assetKey
   * is in asset_keys, or an asset the host advertised the check on (check_targets). */
  reportAssetCheck({ checkName, passed, severity = 'ERROR', metadata = null, assetKey = null } = {}) {
    const method = 'report_asset_check';
    if (typeof checkName !== 'string' || !checkName) throw new PipesError(`${method}: checkName must be a non-empty string`);
    const key = this._checkTarget(assetKey, checkName) ?? this._resolveAssetKey(assetKey, method);
    if (typeof passed !== 'boolean') throw new PipesError(`${method}: passed must be true or false, got ${JSON.stringify(passed)}`);
    const sev = String(severity).toUpperCase();
    if (sev !== 'WARN' && sev !== 'ERROR') throw new PipesError(`${method}: severity must be 'ERROR' or 'WARN', got ${JSON.stringify(severity)}`);
    this._send(method, { asset_key: key, check_name: checkName, passed, severity: sev, metadata: normalizeMetadata(metadata, method) });
  }

  reportCustomMessage(payload) { this._send('report_custom_message', { payload }); }

  /** progress(current, { total, message, assetKey }) - sent only when the host advertises it. */
  progress(current, { total = null, message = null, assetKey = null } = {}) {
    if (this.noop || !this.hasFeature('progress')) return;
    if (typeof current !== 'number') throw new PipesError('progress: current must be a number');
    const key = assetKey === null ? null : this._resolveAssetKey(assetKey, 'progress');
    this._send('progress', { asset_key: key, current, total, message: message === null ? null : String(message) });
  }

  /** Write a JSON value where the host asked ('outputs' extension) and report it. */
  reportOutput(value, { assetKey = null, metadata = null } = {}) {
    const method = 'report_output';
    if (this.noop) return '';
    if (!this.hasFeature('outputs')) throw new PipesError(`${method}: the host did not advertise the 'outputs' feature (a Dagster host never does)`);
    const key = this._resolveAssetKey(assetKey, method);
    const base = (this.features.outputs || {})[key];
    if (!base) throw new PipesError(`${method}: the host gave no output location for asset ${JSON.stringify(key)}`);
    if (base.includes('://') && !base.startsWith('file://')) throw new PipesError(`${method}: ${base} is remote; the Node client writes local paths only`);
    const url = `${base}.json`;
    const path = url.replace(/^file:\/\//, '');
    fs.mkdirSync(require('path').dirname(path), { recursive: true });
    fs.writeFileSync(`${path}.tmp-${process.pid}`, toJson(value));
    fs.renameSync(`${path}.tmp-${process.pid}`, path);
    this._send(method, { asset_key: key, url, format: 'json', metadata: normalizeMetadata(metadata, method) });
    return url;
  }
}

/**
 * Load the bootstrap, open the channel, send `opened`. Without a bootstrap: a warning and a no-op
 * context. Options inject { paramsLoader, contextLoader, messageWriter } like dagster_pipes.
 */
function openPipes({ paramsLoader, contextLoader, messageWriter } = {}) {
  if (instance !== null && !instance.closed) return instance;
  const loader = paramsLoader || new DefaultParamsLoader();
  let ctx;
  if (loader.isPipesProcess()) {
    ctx = new PipesContext({ paramsLoader: loader, contextLoader: contextLoader || new DefaultContextLoader(), messageWriter: messageWriter || new DefaultMessageWriter() });
    ctx._installProcessHooks();
  } else {
    process.emitWarning('this process was not launched by a pipes host (no DAGSTER_PIPES_CONTEXT); pipes calls are no-ops', 'PipesWarning');
    ctx = new PipesContext({ noop: true });
  }
  instance = ctx;
  return ctx;
}

/** Run `fn(pipes)` (sync or async); close with its error, if any, and rethrow it. */
async function withPipes(fn, options) {
  const pipes = openPipes(options);
  try {
    const result = await fn(pipes);
    pipes.close();
    return result;
  } catch (err) {
    pipes.close(err);
    throw err;
  }
}

module.exports = {
  PROTOCOL_VERSION,
  BufferedStreamChannel,
  DefaultContextLoader,
  DefaultMessageWriter,
  DefaultParamsLoader,
  FileChannel,
  FloatValue,
  MappingParamsLoader,
  PipesContext,
  PipesError,
  StreamChannel,
  decodeBootstrap,
  errorToPipes,
  escapeAssetKey,
  inferEntry,
  meta,
  openPipes,
  openDagsterPipes: openPipes,
  toJson,
  unescapeAssetKey,
  withPipes,
};
