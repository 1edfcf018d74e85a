// One function per endpoint of the server's JSON API. Errors are thrown as ApiError with the
// server's {"error":{"code","message","field"}} shape; network failures as ApiError status 0.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || (status ? `HTTP ${status}` : 'network unreachable'));
    this.status = status;
    this.code = e.code || (status ? 'http_' + status : 'offline');
    this.field = e.field;
    this.current = e.current;
  }
  get offline() { return this.status === 0; }
}

let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(f) { onUnauthenticated = f; }

async function call(method, url, body, opts = {}) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body instanceof FormData || body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, null);
  }
  let data = null;
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) data = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet) onUnauthenticated();
    throw new ApiError(res.status, data);
  }
  return data;
}

const q = (o) => new URLSearchParams(o).toString();

export const login = (name, password) => call('POST', '/api/login', { name, password });
export const logout = () => call('POST', '/api/logout');
/** Who is logged in; with `{ optional: true }` null (not a 401) when nobody is. */
export const me = ({ optional = false } = {}) => call('GET', optional ? '/api/me?optional=true' : '/api/me', undefined, { quiet: true });
export const settings = () => call('GET', '/api/me/settings', undefined, { quiet: true });
export const saveSettings = (s) => call('PUT', '/api/me/settings', s);

export const projects = () => call('GET', '/api/projects');
export const createProject = (name) => call('POST', '/api/projects', { name });
export const members = (p) => call('GET', `/api/projects/${p}/members`);
export const addMember = (p, user, role) => call('POST', `/api/projects/${p}/members`, { user, role });
export const speakers = (p) => call('GET', `/api/projects/${p}/speakers`);
export const addSpeaker = (p, code) => call('POST', `/api/projects/${p}/speakers`, { code });
export const guidelines = (p) => call('GET', `/api/projects/${p}/guidelines`);
export const publishGuidelines = (p, base, body) => call('PUT', `/api/projects/${p}/guidelines`, { base_version: base, body });
export const ackGuidelines = (p, version) => call('POST', `/api/projects/${p}/guidelines/ack`, { version });

export const recordings = (p) => call('GET', `/api/projects/${p}/recordings`);
export const recording = (r) => call('GET', `/api/recordings/${r}`);
export const peaks = (r, start, end, width) =>
  call('GET', `/api/recordings/${r}/peaks?${q({ start, end, width })}`);
export const pitch = (r) => call('GET', `/api/recordings/${r}/pitch`);
export const audioUrl = (r) => `/api/recordings/${r}/audio`;
/** A spectrogram tile; `params` are the view's settings (phonetics.tileParams): wideband, mel, gray, max_freq, range_db, pre_emphasis. */
export const spectrogramUrl = (r, start, end, width, height, params = {}) =>
  `/api/recordings/${r}/spectrogram?${q({ start, end, width, height, ...params })}`;
/** Pitch and intensity of samples [start, end) at `width` column centres: `{times, f0_hz, intensity_db}`. */
export const track = (r, start, end, width) =>
  call('GET', `/api/recordings/${r}/track?${q({ start, end, width })}`);
/** F1–F4 (Burg LPC) of samples [start, end) at `width` column centres: `{times, f1, f2, f3, f4}`. */
export const formants = (r, start, end, width, max_formant) =>
  call('GET', `/api/recordings/${r}/formants?${q({ start, end, width, max_formant })}`);
export const job = (j) => call('GET', `/api/jobs/${j}`);
export const jobEventsUrl = (j) => `/api/jobs/${j}/events`;

/** Uploads one file with XHR (for upload progress). onProgress(fraction). */
export function upload(project, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/projects/${project}/recordings`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    };
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

export const segments = (r) => call('GET', `/api/recordings/${r}/segments`);
export const segment = (s) => call('GET', `/api/segments/${s}`);
export const createSegment = (r, start_sample, end_sample, text_verbatim = '') =>
  call('POST', `/api/recordings/${r}/segments`, { start_sample, end_sample, text_verbatim });
export const saveSegment = (s, body) => call('PUT', `/api/segments/${s}`, body);
export const deleteSegment = (s, version, save_id) =>
  call('DELETE', `/api/segments/${s}?${q({ version, save_id })}`);
export const previewSegment = (s, text_verbatim) => call('POST', `/api/segments/${s}/preview`, { text_verbatim }, { quiet: true });
export const revisions = (s) => call('GET', `/api/segments/${s}/revisions`);
export const split = (s, version, save_id, at_sample, text_offset) =>
  call('POST', `/api/segments/${s}/split`, { version, save_id, at_sample, text_offset });
export const merge = (s, version, save_id) => call('POST', `/api/segments/${s}/merge`, { version, save_id });

export const claim = (p) => call('POST', `/api/projects/${p}/claim`);
export const submit = (s, version) => call('POST', `/api/segments/${s}/submit`, { version });
export const reviewQueue = (p) => call('GET', `/api/projects/${p}/review`);
export const review = (s, verdict, comment) => call('POST', `/api/segments/${s}/review`, { verdict, comment });

// ASR import, live pre-annotation and the dashboard (issue 6).
export function importAsr(project, files, { mode = 'auto', model = '', tier = '', mapping = '' } = {}) {
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  form.append('mode', mode);
  if (model) form.append('model', model);
  if (tier) form.append('tier', tier);
  if (mapping) form.append('mapping', mapping);
  return call('POST', `/api/projects/${project}/asr`, form);
}
/** Hypothesis files onto one recording (the per-recording route: no mapping to write). */
export function importAsrFor(recording, files, { mode = 'auto', model = '', tier = '' } = {}) {
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  form.append('mode', mode);
  if (model) form.append('model', model);
  if (tier) form.append('tier', tier);
  return call('POST', `/api/recordings/${recording}/asr`, form);
}
export const project = (p) => call('GET', `/api/projects/${p}`);
export const updateProject = (p, body) => call('PATCH', `/api/projects/${p}`, body);
export const preAnnotate = (p, recordings) => call('POST', `/api/projects/${p}/pre-annotate`, recordings ? { recordings } : {});
export const progress = (p) => call('GET', `/api/projects/${p}/progress`);
export const metrics = (p, by, extra = {}) => call('GET', `/api/projects/${p}/metrics?${q({ by, ...extra })}`);
export const throughput = (p) => call('GET', `/api/projects/${p}/throughput`);
export const agreementSummary = (p) => call('GET', `/api/projects/${p}/agreement/summary`);
/** The CSV download of a dashboard table. */
export const csvUrl = (path, extra = {}) => `${path}?${q({ ...extra, format: 'csv' })}`;

// Tagging (issue 7): schema, spans, suggestions, concordance.
export const tagSchema = (p) => call('GET', `/api/projects/${p}/tag-schema`);
export const saveTagSchema = (p, schema) => call('PUT', `/api/projects/${p}/tag-schema`, schema);
export const spans = (s) => call('GET', `/api/segments/${s}/spans`);
export const createSpan = (s, body) => call('POST', `/api/segments/${s}/spans`, body);
export const deleteSpan = (id) => call('DELETE', `/api/spans/${id}`);
export const suggestTags = (chars, realised, expected) =>
  call('GET', `/api/tags/suggest?${q(expected ? { chars, realised, expected } : { chars, realised })}`);
export const concordance = (p, filters) => call('GET', `/api/projects/${p}/concordance?${q(filters)}`);
export const concordanceCsvUrl = (p, filters) => `/api/projects/${p}/concordance?${q({ ...filters, format: 'csv' })}`;
export const featureStats = (p) => call('GET', `/api/projects/${p}/features/stats`);
export const patchSpeaker = (id, fields) => call('PATCH', `/api/speakers/${id}`, fields);
/** Bulk speaker metadata: CSV text with a header row (code, gender, age_band, …). */
export const importSpeakers = (p, csv) => call('POST', `/api/projects/${p}/speakers/import`, new Blob([csv], { type: 'text/csv' }));
export const segmentTags = (s) => call('GET', `/api/segments/${s}/tags`);
export const putSegmentTags = (s, tags) => call('PUT', `/api/segments/${s}/tags`, { tags });

// The review loop and users (issue 17): comment threads, reopen, quality; the instance admin's
// users, invites, and one's own password.
export const comments = (s) => call('GET', `/api/segments/${s}/comments`);
export const addComment = (s, body) => call('POST', `/api/segments/${s}/comments`, { body });
export const unreadComments = (p) => call('GET', `/api/projects/${p}/comments/unread`);
export const reopen = (s) => call('POST', `/api/segments/${s}/reopen`);
export const quality = (p, bucket = 'week') => call('GET', `/api/projects/${p}/quality?${q({ bucket })}`);
export const adminUsers = () => call('GET', '/api/admin/users');
export const adminProjects = () => call('GET', '/api/admin/projects');
export const createUser = (name, password) => call('POST', '/api/admin/users', { name, password });
export const resetPassword = (id, password) => call('PUT', `/api/admin/users/${id}/password`, { password });
export const disableUser = (id) => call('POST', `/api/admin/users/${id}/disable`);
export const enableUser = (id) => call('POST', `/api/admin/users/${id}/enable`);
export const createInvite = (p, role, expires_in_days) =>
  call('POST', `/api/projects/${p}/invites`, expires_in_days ? { role, expires_in_days } : { role });
export const invite = (token) => call('GET', `/api/invites/${encodeURIComponent(token)}`, undefined, { quiet: true });
export const acceptInvite = (token, name, password) =>
  call('POST', `/api/invites/${encodeURIComponent(token)}/accept`, { name, password }, { quiet: true });
export const changePassword = (old_password, new_password) =>
  call('PUT', '/api/me/password', { old_password, new_password });
