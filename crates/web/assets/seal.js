// sealant's sealing page: builds a SealedSecret in the browser, with WebCrypto, from the cluster's public
// certificate. Nothing typed or chosen here is sent anywhere: the only request this script makes is the GET of
// the certificate from the page's own origin (the Content-Security-Policy allows no other), and values are
// wiped from the form once sealed.
//
// One sealed item is upstream's hybrid envelope: u16be(L) ‖ RSA-OAEP-SHA256(session key, label) ‖
// AES-256-GCM(session key, 12 zero bytes)(value) ‖ tag, with a fresh random session key per item (which is what
// makes the fixed zero nonce safe). The label is `namespace/name` (strict), `namespace` (namespace-wide) or
// empty (cluster-wide).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const utf8 = new TextEncoder();
  const SCOPE_ANNOTATIONS = {
    'namespace-wide': 'sealedsecrets.bitnami.com/namespace-wide',
    'cluster-wide': 'sealedsecrets.bitnami.com/cluster-wide',
  };
  const state = { key: null, fingerprint: '', sealed: null, rows: 0, pasted: false };

  // ---- Errors shown to the user: each names the field it is about, which gets focus and aria-invalid.

  class FieldError extends Error {
    constructor(field, message) {
      super(message);
      this.field = field;
    }
  }

  // The message goes next to the field (its description, so a screen reader reads it with the field) and into
  // the alert beside the Seal button, which announces it.
  function showError(err) {
    const field = err instanceof FieldError ? err.field : null;
    // Why only the message: it is written by this script and never holds a value.
    const message = err instanceof FieldError ? err.message : `Sealing failed: ${err.message || err}`;
    if (field) {
      const note = document.createElement('p');
      note.id = `${field.id}-error`;
      note.className = 'field-error';
      note.textContent = message;
      field.insertAdjacentElement('afterend', note);
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-describedby', `${field.getAttribute('aria-describedby') || ''} ${note.id}`.trim());
      field.focus();
    }
    $('error').textContent = message;
  }

  function clearError() {
    $('error').textContent = '';
    for (const note of document.querySelectorAll('.field-error')) note.remove();
    for (const el of document.querySelectorAll('[aria-invalid]')) {
      el.removeAttribute('aria-invalid');
      const rest = (el.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== `${el.id}-error`);
      if (rest.length) el.setAttribute('aria-describedby', rest.join(' '));
      else el.removeAttribute('aria-describedby');
    }
  }

  // ---- Bytes.

  function base64(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  function unbase64(text) {
    const s = atob(text.replace(/\s+/g, ''));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  // ---- The certificate: DER read just far enough for the public key, its validity and its fingerprint.

  function tlv(buf, pos, end) {
    if (pos + 2 > end) throw new Error('truncated DER');
    const tag = buf[pos];
    let len = buf[pos + 1];
    let body = pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 4) throw new Error('bad DER length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[body++];
    }
    if (body + len > end) throw new Error('truncated DER');
    return { tag, start: pos, body, end: body + len };
  }

  function children(buf, node) {
    const out = [];
    for (let pos = node.body; pos < node.end; pos = out[out.length - 1].end) out.push(tlv(buf, pos, node.end));
    return out;
  }

  function expect(node, tag, what) {
    if (!node || node.tag !== tag) throw new Error(`not a certificate (${what})`);
    return node;
  }

  function derTime(buf, node) {
    const s = String.fromCharCode(...buf.subarray(node.body, node.end));
    const m = node.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new Error('not a certificate (validity)');
    let year = Number(m[1]);
    if (node.tag === 0x17) year += year < 50 ? 2000 : 1900;
    return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }

  const RSA_ENCRYPTION = '2a864886f70d010101';

  function readCertificate(der) {
    const cert = expect(tlv(der, 0, der.length), 0x30, 'outer sequence');
    const tbs = expect(children(der, cert)[0], 0x30, 'to-be-signed part');
    let fields = children(der, tbs);
    if (fields[0] && fields[0].tag === 0xa0) fields = fields.slice(1);
    const validity = children(der, expect(fields[3], 0x30, 'validity'));
    const spki = expect(fields[5], 0x30, 'public key');
    const [algorithm, bits] = children(der, spki);
    const oid = expect(children(der, expect(algorithm, 0x30, 'algorithm'))[0], 0x06, 'algorithm');
    const hex = Array.from(der.subarray(oid.body, oid.end), (b) => b.toString(16).padStart(2, '0')).join('');
    if (hex !== RSA_ENCRYPTION) throw new Error('the certificate does not hold an RSA key');
    expect(bits, 0x03, 'public key bits');
    const rsa = tlv(der, bits.body + 1, bits.end);
    const [modulus, exponent] = children(der, expect(rsa, 0x30, 'RSA key'));
    expect(modulus, 0x02, 'modulus');
    expect(exponent, 0x02, 'exponent');
    // Why refuse: the controller makes 4096-bit keys with exponent 65537; a small key or exponent is a sign of a
    // hand-made or hostile certificate, and `sealant seal` refuses both too.
    let e = 0;
    for (let i = exponent.body; i < exponent.end; i++) e = e * 256 + der[i];
    if (e < 65537) throw new Error(`its public exponent ${e} is below 65537`);
    let bitLength = (modulus.end - modulus.body) * 8;
    for (let i = modulus.body; i < modulus.end && der[i] === 0; i++) bitLength -= 8;
    if (bitLength < 2048) throw new Error(`its ${bitLength}-bit RSA key is below 2048 bits`);
    return {
      spki: der.slice(spki.start, spki.end),
      notBefore: derTime(der, validity[0]),
      notAfter: derTime(der, validity[1]),
      bits: bitLength,
      modulus: der.slice(modulus.body, modulus.end),
      exponent: der.slice(exponent.body, exponent.end),
    };
  }

  // The OpenSSH-style fingerprint sealant and upstream name keys by: SHA-256 of the `ssh-rsa` public key blob.
  // A DER INTEGER's content is already an SSH mpint (minimal, with a 0x00 in front when the top bit is set).
  async function fingerprint(cert) {
    const parts = [utf8.encode('ssh-rsa'), cert.exponent, cert.modulus];
    const blob = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      new DataView(blob.buffer).setUint32(at, p.length);
      blob.set(p, at + 4);
      at += 4 + p.length;
    }
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', blob));
    return `SHA256:${base64(hash).replace(/=+$/, '')}`;
  }

  async function useCertificate(pem, origin) {
    const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
    if (!m) throw new Error('no PEM certificate found');
    const cert = readCertificate(unbase64(m[1]));
    const now = new Date();
    // Why refuse: sealing to an expired or not-yet-valid certificate is what `sealant seal` refuses too.
    if (now > cert.notAfter) throw new Error(`the certificate expired on ${cert.notAfter.toISOString()}`);
    if (now < cert.notBefore) throw new Error(`the certificate is not valid before ${cert.notBefore.toISOString()}`);
    state.key = await crypto.subtle.importKey('spki', cert.spki, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, [
      'encrypt',
    ]);
    state.fingerprint = await fingerprint(cert);
    const days = Math.floor((cert.notAfter - now) / 86400000);
    $('cert-fingerprint').textContent = state.fingerprint;
    $('cert-expiry').textContent = `${cert.notAfter.toISOString().replace('.000', '')} (${days} days from now)`;
    $('cert-info').hidden = false;
    $('cert-status').textContent = `Sealing to the certificate ${origin} (${cert.bits}-bit RSA).`;
  }

  async function loadServerCertificate() {
    try {
      // Same origin, relative (the page also works behind the API server's service proxy), no credentials.
      const response = await fetch('v1/cert.pem', { cache: 'no-store', credentials: 'omit' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const pem = await response.text();
      // Why: a certificate the user pasted meanwhile is the one they chose; a late answer must not replace it.
      if (state.pasted) return;
      await useCertificate(pem, 'this server offers');
    } catch (err) {
      if (state.pasted) return;
      $('cert-status').textContent = `This server offers no usable certificate (${err.message}): paste one below.`;
      $('cert-other').open = true;
    }
  }

  // ---- Names, as the API server and `sealant seal` check them, and the naming convention as a hint.

  const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
  const NAMESPACE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
  const ITEM = /^[-._a-zA-Z0-9]+$/;
  const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

  function namingHint(name) {
    const list = (attr) => (document.body.dataset[attr] || '').split(',').filter(Boolean);
    const environments = list('environments');
    const types = list('types');
    const follows = environments.some((env) => {
      if (!name.endsWith(`-${env}`)) return false;
      const rest = name.slice(0, -env.length - 1);
      return types.some((t) => rest.endsWith(`-${t}`) && rest.length > t.length + 1);
    });
    return name && !follows
      ? `Hint: names usually follow <app>-<secret-type>-<environment>, e.g. billing-db-credentials-prod ` +
          `(environments: ${environments.join(', ')}).`
      : '';
  }

  // ---- Items.

  function addItem() {
    const n = ++state.rows;
    const row = $('item-template').content.firstElementChild.cloneNode(true);
    row.querySelector('legend').textContent = `Item ${n}`;
    for (const el of row.querySelectorAll('[data-id]')) el.id = `item-${n}-${el.dataset.id}`;
    for (const label of row.querySelectorAll('label[data-for]')) label.htmlFor = `item-${n}-${label.dataset.for}`;
    const source = row.querySelector('[data-id=source]');
    source.addEventListener('change', () => {
      for (const part of row.querySelectorAll('[data-show]')) part.hidden = part.dataset.show !== source.value;
    });
    row.querySelector('[data-id=remove]').addEventListener('click', () => {
      wipe(row);
      row.remove();
      $('add-item').focus();
    });
    $('items').append(row);
    return row;
  }

  function wipe(row) {
    row.querySelector('[data-id=text]').value = '';
    row.querySelector('[data-id=file]').value = '';
  }

  const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

  // The generators of `sealant rotate` (sealant.dev/generate.<item>), from the browser's CSPRNG.
  function generate(spec) {
    if (spec === 'uuid') {
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      return utf8.encode(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
    }
    const [kind, len] = spec.split(':');
    const n = Number(len);
    if (kind === 'base64') return utf8.encode(base64(crypto.getRandomValues(new Uint8Array(n))));
    if (kind === 'hex') {
      return utf8.encode(Array.from(crypto.getRandomValues(new Uint8Array(n)), (x) => x.toString(16).padStart(2, '0')).join(''));
    }
    // alnum: rejection sampling keeps every character equally likely (248 = 4 × 62).
    let out = '';
    while (out.length < n) {
      for (const b of crypto.getRandomValues(new Uint8Array(n))) if (b < 248 && out.length < n) out += ALNUM[b % 62];
    }
    return utf8.encode(out);
  }

  async function readItems() {
    const items = [];
    const seen = new Set();
    for (const row of $('items').querySelectorAll('fieldset.item')) {
      const keyField = row.querySelector('[data-id=key]');
      const key = keyField.value.trim();
      const source = row.querySelector('[data-id=source]').value;
      const label = row.querySelector('legend').textContent;
      if (!key) throw new FieldError(keyField, `${label}: the key is empty.`);
      if (!ITEM.test(key) || key.length > 253 || key === '.' || key.startsWith('..')) {
        throw new FieldError(keyField, `${label}: key "${key}" is not valid: want letters, digits, '-', '_' and '.', at most 253 characters, not "." nor starting with "..".`);
      }
      // Why: `__proto__` is a valid Secret key but not a plain property name in a script; refusing it beats
      // an item that silently disappears.
      if (UNSAFE_KEYS.has(key)) throw new FieldError(keyField, `${label}: key "${key}" cannot be sealed in this page; use sealant seal.`);
      if (seen.has(key)) throw new FieldError(keyField, `${label}: key "${key}" is used twice.`);
      seen.add(key);
      if (source === 'text') {
        const text = row.querySelector('[data-id=text]');
        if (!text.value) throw new FieldError(text, `${label}: the value is empty.`);
        items.push({ key, bytes: utf8.encode(text.value) });
      } else if (source === 'file') {
        const input = row.querySelector('[data-id=file]');
        if (!input.files.length) throw new FieldError(input, `${label}: choose a file.`);
        items.push({ key, bytes: new Uint8Array(await input.files[0].arrayBuffer()) });
      } else {
        const spec = row.querySelector('[data-id=generator]').value;
        const rotate = row.querySelector('[data-id=rotate]').checked;
        items.push({ key, bytes: generate(spec), generator: rotate ? spec : null });
      }
    }
    return items;
  }

  // ---- Sealing.

  async function sealItem(label, value) {
    const sessionKey = crypto.getRandomValues(new Uint8Array(32));
    try {
      const aes = await crypto.subtle.importKey('raw', sessionKey, 'AES-GCM', false, ['encrypt']);
      const body = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, value));
      const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP', label }, state.key, sessionKey));
      const out = new Uint8Array(2 + wrapped.length + body.length);
      new DataView(out.buffer).setUint16(0, wrapped.length);
      out.set(wrapped, 2);
      out.set(body, 2 + wrapped.length);
      return base64(out);
    } finally {
      sessionKey.fill(0);
    }
  }

  function scopeOf(annotations) {
    const is = (key) => Boolean(annotations) && Object.hasOwn(annotations, key) && annotations[key] === 'true';
    if (is('sealedsecrets.bitnami.com/cluster-wide')) return 'cluster-wide';
    if (is('sealedsecrets.bitnami.com/namespace-wide')) return 'namespace-wide';
    return 'strict';
  }

  function sorted(obj) {
    return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  // The pasted SealedSecret, or null when the box is empty.
  function readExisting() {
    const text = $('existing').value.trim();
    if (!text) return null;
    let obj;
    try {
      obj = text.startsWith('{') ? parseJson(text) : parseYaml(text);
      checkTree(obj, '');
    } catch (err) {
      throw new FieldError($('existing'), `The pasted SealedSecret does not parse: ${err.message}`);
    }
    if (!obj || obj.kind !== 'SealedSecret' || obj.apiVersion !== 'bitnami.com/v1alpha1') {
      throw new FieldError($('existing'), 'The pasted text is not a SealedSecret (kind SealedSecret, apiVersion bitnami.com/v1alpha1).');
    }
    const meta = obj.metadata || {};
    if (typeof meta.name !== 'string' || !meta.name) throw new FieldError($('existing'), 'The pasted SealedSecret has no metadata.name.');
    for (const [path, value] of [
      ['metadata', obj.metadata],
      ['metadata.annotations', meta.annotations],
      ['spec', obj.spec],
      ['spec.encryptedData', obj.spec && obj.spec.encryptedData],
    ]) {
      if (value !== undefined && value !== null && !isMap(value)) throw new FieldError($('existing'), `The pasted SealedSecret's ${path} is not a mapping.`);
    }
    obj.spec = obj.spec || {};
    obj.spec.encryptedData = obj.spec.encryptedData || {};
    return obj;
  }

  function isMap(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  // Why: keys such as `__proto__` would change what the script reads (an inherited scope annotation), and text
  // YAML cannot carry would make output other tools refuse. Errors name the path, never a value.
  function checkTree(v, path) {
    if (typeof v === 'string') {
      if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)) throw new Error(`${path || 'a value'} holds an unpaired surrogate`);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      if (UNSAFE_KEYS.has(k)) throw new Error(`the key "${k}" is not accepted (at ${path || 'the top'})`);
      checkTree(k, path);
      checkTree(child, path ? `${path}.${k}` : k);
    }
  }

  // JSON.parse, with an error that gives the position and never quotes the text (it could be a pasted value).
  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (err) {
      const at = /position (\d+)/.exec(err.message);
      if (!at) throw new Error('it is not valid JSON');
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      throw new Error(`it is not valid JSON (line ${line}, column ${before.length - before.lastIndexOf('\n')})`);
    }
  }

  // A pasted SealedSecret decides name, namespace and scope (its items are sealed for them), like
  // `sealant seal --merge-into`.
  function showExisting() {
    clearError();
    let existing = null;
    try {
      existing = readExisting();
    } catch (err) {
      $('existing-status').textContent = '';
      showError(err);
    }
    for (const id of ['namespace', 'name', 'scope', 'type']) $(id).disabled = Boolean(existing);
    if (!existing) {
      $('existing-status').textContent = '';
      return;
    }
    $('namespace').value = existing.metadata.namespace || '';
    $('name').value = existing.metadata.name;
    $('scope').value = scopeOf(existing.metadata.annotations);
    const keys = Object.keys(existing.spec.encryptedData);
    $('existing-status').textContent = `Adding to ${existing.metadata.name}: it keeps its ${keys.length} item(s) (${keys.join(', ')}); an item with the same key is replaced.`;
  }

  async function seal(event) {
    event.preventDefault();
    clearError();
    $('output-status').textContent = '';
    try {
      if (!state.key) throw new FieldError($('cert-pem'), 'No certificate yet: paste the cluster\'s certificate under "Use another certificate".');
      const existing = readExisting();
      const namespace = $('namespace').value.trim();
      const name = $('name').value.trim();
      const scope = $('scope').value;
      if (!NAME.test(name) || name.length > 253) {
        throw new FieldError($('name'), `Name "${name}" is not valid: want lowercase letters, digits, '-' and '.', at most 253 characters, starting and ending with a letter or digit.`);
      }
      if (namespace && (!NAMESPACE.test(namespace) || namespace.length > 63)) {
        throw new FieldError($('namespace'), `Namespace "${namespace}" is not valid: want lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit.`);
      }
      if (!namespace && scope !== 'cluster-wide') {
        throw new FieldError($('namespace'), `A ${scope} SealedSecret needs a namespace.`);
      }
      const items = await readItems();
      if (!items.length) throw new FieldError($('add-item'), 'Add at least one item.');
      const label = utf8.encode(scope === 'strict' ? `${namespace}/${name}` : scope === 'namespace-wide' ? namespace : '');
      const encrypted = {};
      const generators = {};
      for (const item of items) {
        encrypted[item.key] = await sealItem(label, item.bytes);
        item.bytes.fill(0);
        if (item.generator) generators[`sealant.dev/generate.${item.key}`] = item.generator;
      }
      const stamp = {
        'sealant.dev/key-fingerprint': state.fingerprint,
        'sealant.dev/sealed-at': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ...generators,
      };
      const typed = items.filter((item) => !item.generator).map((item) => item.key);
      state.sealed = existing
        ? mergeInto(existing, encrypted, stamp, typed)
        : fresh(namespace, name, scope, encrypted, stamp);
      // Why wipe at once: a value left in the form outlives the task (shoulder surfing, a shared screen).
      for (const row of $('items').querySelectorAll('fieldset.item')) wipe(row);
      render();
      $('output-status').textContent = `Sealed ${items.length} item(s) into ${name}; the values were cleared from the form.`;
      $('output').focus();
    } catch (err) {
      showError(err);
    }
  }

  function fresh(namespace, name, scope, encrypted, stamp) {
    const annotations = { ...stamp };
    const templateMeta = { name };
    if (SCOPE_ANNOTATIONS[scope]) {
      annotations[SCOPE_ANNOTATIONS[scope]] = 'true';
      templateMeta.annotations = { [SCOPE_ANNOTATIONS[scope]]: 'true' };
    }
    if (namespace) templateMeta.namespace = namespace;
    const metadata = { annotations: sorted(annotations), name };
    if (namespace) metadata.namespace = namespace;
    const template = { metadata: templateMeta };
    const type = $('type').value.trim();
    if (type) template.type = type;
    return {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata,
      spec: { encryptedData: sorted(encrypted), template },
    };
  }

  function mergeInto(existing, encrypted, stamp, typed) {
    const out = JSON.parse(JSON.stringify(existing));
    // What the API server wrote when it was read back with `kubectl get -o yaml` is not part of the manifest.
    delete out.status;
    for (const field of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink']) {
      delete out.metadata[field];
    }
    const annotations = { ...(out.metadata.annotations || {}), ...stamp };
    // A value chosen here replaces a generated one: rotation must not overwrite it with a new random value.
    for (const key of typed) delete annotations[`sealant.dev/generate.${key}`];
    out.metadata.annotations = sorted(annotations);
    for (const [key, value] of Object.entries(encrypted)) out.spec.encryptedData[key] = value;
    return out;
  }

  // ---- Output.

  function render() {
    if (!state.sealed) return;
    $('output').value = $('format').value === 'json' ? `${JSON.stringify(state.sealed, null, 2)}\n` : toYaml(state.sealed);
    $('copy').disabled = false;
    $('download').disabled = false;
  }

  async function copy() {
    await navigator.clipboard.writeText($('output').value);
    $('output-status').textContent = 'Copied.';
  }

  function download() {
    const json = $('format').value === 'json';
    const blob = new Blob([$('output').value], { type: json ? 'application/json' : 'application/yaml' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${state.sealed.metadata.name}.${json ? 'json' : 'yaml'}`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    $('output-status').textContent = `Downloaded ${link.download}.`;
  }

  // ---- YAML: the block style kubectl, kubeseal and sealant write, plus simple flow collections. Anything else
  // (anchors, tags, block scalars, several documents) is refused with its line, rather than guessed.

  const RESERVED = /^(null|Null|NULL|~|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$/;

  function yamlString(s) {
    // Plain only when no YAML reader can take it for anything but a string (`.5` and `.inf` are numbers).
    if (/^([A-Za-z_/]|\.[A-Za-z_])[A-Za-z0-9._/+=-]*$/.test(s) && !RESERVED.test(s) && !/^\.(inf|nan)$/i.test(s)) return s;
    return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }

  function yamlScalar(v) {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return yamlString(v);
    if (Array.isArray(v)) return '[]';
    if (typeof v === 'object') return '{}';
    return String(v);
  }

  function isBlock(v) {
    return v !== null && typeof v === 'object' && Object.keys(v).length > 0;
  }

  function emit(v, indent, out) {
    if (Array.isArray(v)) {
      for (const item of v) {
        if (isBlock(item)) {
          const inner = [];
          emit(item, `${indent}  `, inner);
          inner[0] = `${indent}- ${inner[0].slice(indent.length + 2)}`;
          out.push(...inner);
        } else {
          out.push(`${indent}- ${yamlScalar(item)}`);
        }
      }
      return;
    }
    for (const [k, value] of Object.entries(v)) {
      if (isBlock(value)) {
        out.push(`${indent}${yamlString(k)}:`);
        emit(value, Array.isArray(value) ? indent : `${indent}  `, out);
      } else {
        out.push(`${indent}${yamlString(k)}: ${yamlScalar(value)}`);
      }
    }
  }

  function toYaml(obj) {
    const out = [];
    emit(obj, '', out);
    return `${out.join('\n')}\n`;
  }

  function parseYaml(text) {
    const lines = [];
    let documents = 0;
    text.split(/\r?\n/).forEach((raw, i) => {
      const no = i + 1;
      if (/^(---|\.\.\.)(\s|$)/.test(raw)) {
        if (raw.startsWith('---') && lines.length) documents++;
        if (raw.slice(3).trim() && !raw.slice(3).trim().startsWith('#')) throw new Error(`line ${no}: content after "---" is not read here`);
        return;
      }
      const body = stripComment(raw, no);
      if (!body.trim()) return;
      if (/^ *\t/.test(raw)) throw new Error(`line ${no}: a tab in the indentation`);
      if (documents) throw new Error(`line ${no}: a second document; paste one SealedSecret`);
      const indent = body.length - body.trimStart().length;
      lines.push({ indent, text: body.trim(), no });
    });
    if (!lines.length) throw new Error('it is empty');
    let pos = 0;

    const seqItem = (t) => t === '-' || t.startsWith('- ');

    function node(minIndent) {
      const line = lines[pos];
      if (!line || line.indent < minIndent) return null;
      if (seqItem(line.text)) return sequence(line.indent);
      if (splitKey(line.text, line.no)) return mapping(line.indent);
      pos++;
      return scalar(line.text, line.no);
    }

    function mapping(indent) {
      const obj = Object.create(null);
      while (pos < lines.length && lines[pos].indent === indent && !seqItem(lines[pos].text)) {
        const line = lines[pos];
        const kv = splitKey(line.text, line.no);
        if (!kv) throw new Error(`line ${line.no}: expected "key: value"`);
        if (Object.hasOwn(obj, kv.key)) throw new Error(`line ${line.no}: key "${kv.key}" appears twice`);
        pos++;
        let value;
        if (kv.rest === '') {
          const next = lines[pos];
          value = next && (next.indent > indent || (next.indent === indent && seqItem(next.text))) ? node(next.indent) : null;
        } else {
          value = scalar(kv.rest, line.no);
          // A plain scalar may continue on more-indented lines (folded with a space).
          while (typeof value === 'string' && !/^["'{[]/.test(kv.rest) && lines[pos] && lines[pos].indent > indent) {
            value += ` ${lines[pos++].text}`;
          }
        }
        obj[kv.key] = value;
      }
      if (lines[pos] && lines[pos].indent > indent) throw new Error(`line ${lines[pos].no}: unexpected indentation`);
      return obj;
    }

    function sequence(indent) {
      const arr = [];
      while (pos < lines.length && lines[pos].indent === indent && seqItem(lines[pos].text)) {
        const line = lines[pos];
        const rest = line.text.slice(1).trimStart();
        if (!rest) {
          pos++;
          const next = lines[pos];
          arr.push(next && next.indent > indent ? node(next.indent) : null);
        } else if (seqItem(rest) || splitKey(rest, line.no)) {
          // "- key: value" opens a mapping (or "- - x" a sequence) indented to where its first key starts.
          lines[pos] = { indent: indent + (line.text.length - rest.length), text: rest, no: line.no };
          arr.push(node(lines[pos].indent));
        } else {
          pos++;
          arr.push(scalar(rest, line.no));
        }
      }
      return arr;
    }

    const value = node(0);
    if (pos < lines.length) throw new Error(`line ${lines[pos].no}: unexpected content`);
    return value;
  }

  function stripComment(line, no) {
    let quote = null;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        if (i === 0 || /[\s:[{,-]/.test(line[i - 1])) quote = c;
      } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
        return line.slice(0, i).trimEnd();
      }
    }
    if (quote) throw new Error(`line ${no}: a quoted string does not end on its line`);
    return line;
  }

  // `key: rest` → {key, rest}; null when the line is not a mapping entry.
  function splitKey(text, no) {
    let key;
    let after;
    if (text[0] === '"' || text[0] === "'") {
      const end = quotedEnd(text, 0);
      if (end < 0) return null;
      key = scalar(text.slice(0, end + 1), no);
      after = text.slice(end + 1);
      if (!/^\s*:(\s|$)/.test(after)) return null;
      return { key: String(key), rest: after.replace(/^\s*:/, '').trim() };
    }
    if (/^[[{]/.test(text)) return null;
    const m = /^(.*?):(\s|$)/.exec(text);
    if (!m) return null;
    return { key: m[1].trim(), rest: text.slice(m[0].length).trim() };
  }

  function quotedEnd(text, start) {
    const q = text[start];
    for (let i = start + 1; i < text.length; i++) {
      if (q === '"' && text[i] === '\\') i++;
      else if (text[i] === q) {
        if (q === "'" && text[i + 1] === "'") i++;
        else return i;
      }
    }
    return -1;
  }

  function scalar(text, no) {
    const t = text.trim();
    if (/^[&*!|>%@`]/.test(t)) throw new Error(`line ${no}: anchors, aliases, tags and block scalars are not read here; paste JSON instead`);
    if (t[0] === '{' || t[0] === '[') {
      const [value, end] = flow(t, 0, no);
      if (t.slice(end).trim()) throw new Error(`line ${no}: unexpected text after a flow collection`);
      return value;
    }
    if (t[0] === '"' || t[0] === "'") {
      const end = quotedEnd(t, 0);
      if (end !== t.length - 1) throw new Error(`line ${no}: a quoted string does not end where expected`);
      if (t[0] === "'") return t.slice(1, -1).replace(/''/g, "'");
      return unescapeDoubleQuoted(t.slice(1, -1), no);
    }
    if (/^(null|Null|NULL|~)?$/.test(t)) return null;
    if (/^(true|True|TRUE)$/.test(t)) return true;
    if (/^(false|False|FALSE)$/.test(t)) return false;
    if (/^[-+]?(0|[1-9][0-9]*)$/.test(t)) return Number(t);
    return t;
  }

  const ESCAPES = { '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
    ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029' };

  // The escapes of a YAML double-quoted scalar, walked one by one.
  function unescapeDoubleQuoted(body, no) {
    let out = '';
    for (let i = 0; i < body.length; i++) {
      if (body[i] !== '\\') {
        out += body[i];
        continue;
      }
      const c = body[++i];
      const width = { x: 2, u: 4, U: 8 }[c];
      if (width) {
        const hex = body.slice(i + 1, i + 1 + width);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) throw new Error(`line ${no}: a bad \\${c} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        i += width;
      } else if (Object.hasOwn(ESCAPES, c)) {
        out += ESCAPES[c];
      } else {
        throw new Error(`line ${no}: an unknown escape`);
      }
    }
    return out;
  }

  // A flow collection ({a: b, c: [d]}) from position i; returns [value, end].
  function flow(t, i, no) {
    const skip = () => {
      while (/\s/.test(t[i] || '')) i++;
    };
    const open = t[i++];
    const close = open === '{' ? '}' : ']';
    const out = open === '{' ? Object.create(null) : [];
    skip();
    while (t[i] !== close) {
      if (i >= t.length) throw new Error(`line ${no}: a flow collection does not end on its line`);
      const item = () => {
        skip();
        if (t[i] === '{' || t[i] === '[') {
          const [v, end] = flow(t, i, no);
          i = end;
          return v;
        }
        if (t[i] === '"' || t[i] === "'") {
          const end = quotedEnd(t, i);
          if (end < 0) throw new Error(`line ${no}: a quoted string does not end`);
          const v = scalar(t.slice(i, end + 1), no);
          i = end + 1;
          return v;
        }
        const m = /^[^,:{}[\]]*(:(?!\s)[^,:{}[\]]*)*/.exec(t.slice(i));
        i += m[0].length;
        return scalar(m[0], no);
      };
      const first = item();
      skip();
      if (open === '{') {
        if (t[i] !== ':') throw new Error(`line ${no}: expected ":" in a flow mapping`);
        i++;
        out[String(first)] = item();
      } else {
        out.push(first);
      }
      skip();
      if (t[i] === ',') {
        i++;
        skip();
      } else if (t[i] !== close) {
        throw new Error(`line ${no}: expected "," or "${close}"`);
      }
    }
    return [out, i + 1];
  }

  // ---- Wiring.

  document.addEventListener('DOMContentLoaded', () => {
    addItem();
    $('add-item').addEventListener('click', () => addItem().querySelector('[data-id=key]').focus());
    $('seal-form').addEventListener('submit', seal);
    $('format').addEventListener('change', render);
    $('copy').addEventListener('click', () => copy().catch(showError));
    $('download').addEventListener('click', download);
    $('existing').addEventListener('change', showExisting);
    $('name').addEventListener('input', () => {
      $('name-hint').textContent = namingHint($('name').value.trim());
    });
    $('cert-use').addEventListener('click', async () => {
      clearError();
      try {
        state.pasted = true;
        await useCertificate($('cert-pem').value, 'you pasted');
      } catch (err) {
        showError(new FieldError($('cert-pem'), `That certificate cannot be used: ${err.message}.`));
      }
    });
    if (!window.isSecureContext || !crypto.subtle) {
      // WebCrypto exists only in secure contexts (HTTPS, or localhost).
      $('cert-status').textContent = 'This page cannot seal here: browsers allow its cryptography only over HTTPS or on localhost (e.g. kubectl port-forward, or sealant serve).';
      $('seal').disabled = true;
      return;
    }
    loadServerCertificate();
  });
})();
