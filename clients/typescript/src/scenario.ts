// The app scenario through a client generated from the committed openapi.json, compiled by
// strict tsc: sign up, sign in (OAuth2 form), write the diary, sync offline items, catch up on
// changes, read a trend, export FHIR. Run: node dist/scenario.js <base URL>. It prints one line
// per step and exits non-zero on any unexpected answer (tests/test_typescript_client.py).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type SyncEntry = components["schemas"]["SyncEntryItem"];
type SyncSession = components["schemas"]["SyncSessionItem"];
type FhirBundle = components["schemas"]["FhirBundle"];

const base = process.argv[2];
if (!base) throw new Error("usage: node dist/scenario.js <base URL>");

function fail(step: string, status: number, body: unknown): never {
  throw new Error(`${step}: ${status} ${JSON.stringify(body)}`);
}

function day(daysAgo: number): string {
  return new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

const api = createClient<paths>({ baseUrl: base });
const email = `ts-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
const password = "violet kettle harbour";

const signUp = await api.POST("/v1/auth/register", {
  body: { email, password, display_name: "TS Client", timezone: "UTC", index_knee: "left" },
});
if (!signUp.data) fail("sign-up", signUp.response.status, signUp.error);
const patientId: string = signUp.data.id;
console.log(`sign-up ${signUp.response.status} ${patientId}`);

const token = await api.POST("/v1/auth/token", {
  body: { grant_type: "password", username: email, password },
  bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
if (!token.data) fail("token", token.response.status, token.error);
const tokenType: "bearer" = token.data.token_type;
console.log(`token ${token.response.status} ${tokenType} ${token.data.expires_in}`);

const authed = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Bearer ${token.data.access_token}` },
});
const pid = { pid: "me" };

const put = await authed.PUT("/v1/patients/{pid}/symptom-entries/{entry_date}", {
  params: { path: { ...pid, entry_date: day(3) } },
  body: { knees: { left: { pain: 5, stiffness: 4 }, right: { pain: 2 } }, flare: false },
});
if (!put.data) fail("diary", put.response.status, put.error);
console.log(`diary ${put.response.status} etag ${put.response.headers.get("ETag")}`);

// Items logged offline: typed, so a wrong field name does not compile.
const entries: SyncEntry[] = [1, 2].map((ago) => ({
  entry_date: day(ago),
  knees: { left: { pain: 4 } },
}));
const sessions: SyncSession[] = [
  {
    id: crypto.randomUUID(),
    activity: "backward_walking",
    started_at: `${day(1)}T10:00:00+00:00`,
    duration_minutes: 15,
    setting: "indoor",
    supervised: true,
  },
];
const sync = await authed.POST("/v1/patients/{pid}/sync", {
  params: { path: pid },
  body: { symptom_entries: entries, exercise_sessions: sessions, deletions: [] },
});
if (!sync.data) fail("sync", sync.response.status, sync.error);
const statuses = sync.data.results.map((r) => `${r.kind ?? "?"}:${r.status}`);
console.log(`sync ${sync.response.status} ${statuses.join(" ")}`);

const changes = await authed.GET("/v1/patients/{pid}/changes", { params: { path: pid } });
if (!changes.data) fail("changes", changes.response.status, changes.error);
const kinds = new Set(changes.data.items.map((c) => c.kind));
console.log(`changes ${changes.response.status} ${changes.data.items.length} ${[...kinds].sort().join(",")}`);

const trend = await authed.GET("/v1/patients/{pid}/trends/{metric}", {
  params: { path: { ...pid, metric: "pain" }, query: { knee: "left" } },
});
if (!trend.data) fail("trend", trend.response.status, trend.error);
console.log(`trend ${trend.response.status} ${trend.data.metric} ${trend.data.n} days`);

const fhir = await authed.GET("/v1/patients/{pid}/export.fhir", {
  params: { path: pid },
  parseAs: "json",
});
if (fhir.error !== undefined || !fhir.response.ok) fail("fhir", fhir.response.status, fhir.error);
const bundle: FhirBundle = fhir.data;
const types = new Set(bundle.entry.map((e) => e.resource.resourceType));
console.log(`fhir ${fhir.response.status} ${bundle.resourceType} ${bundle.type} ${[...types].sort().join(",")}`);
