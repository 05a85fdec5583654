// Validation messages are the product here (authors read them to fix their policy), so these
// tests assert the exact text, position and path of every issue.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIssue, loadPolicy } from './load.js';

/** A document whose rules start on line 6. */
const doc = (rules: string, defaults = '  action: deny'): string =>
  `apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults:\n${defaults}\nrules:\n${rules}`;

interface Row {
  readonly name: string;
  readonly input: string;
  readonly want: readonly string[];
}

const invalid: readonly Row[] = [
  {
    name: 'a misspelt verb is named with its position',
    input: doc('  - name: a\n    match:\n      verbs: [get, delet]\n    action: allow\n'),
    want: [
      'policy.yaml:8:20: rules[0].match.verbs[1]: "delet" is not a Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection, proxy or *)',
    ],
  },
  {
    name: 'an unknown field is reported with a suggestion',
    input: doc('  - name: a\n    match:\n      verb: [get]\n    action: allow\n'),
    want: ['policy.yaml:8:7: rules[0].match.verb: unknown field "verb" (did you mean "verbs"?)'],
  },
  {
    name: '`when` written beside `match` is told to go inside `match` or `exclude`, not suggested as itself',
    input: doc('  - name: a\n    match: {verbs: [get]}\n    when: "true"\n    action: allow\n'),
    want: ['policy.yaml:8:5: rules[0].when: unknown field "when": it belongs inside "match" or "exclude"'],
  },
  {
    name: 'any match field written beside `match` is told where it belongs, letter case aside',
    input: doc('  - name: a\n    match: {}\n    Namespaces: [prod]\n    action: allow\n'),
    want: [
      'policy.yaml:8:5: rules[0].Namespaces: unknown field "Namespaces": "namespaces" belongs inside "match" or "exclude"',
    ],
  },
  {
    name: 'a rule field written inside `match` belongs one level up',
    input: doc('  - name: a\n    match: {verbs: [get], action: allow}\n    action: allow\n'),
    want: [
      'policy.yaml:7:27: rules[0].match.action: unknown field "action": it belongs one level up, beside "match"',
    ],
  },
  {
    name: 'a field one level up that is also near a field here gets both hints',
    input: doc('  - name: a\n    match: {name: web}\n    action: allow\n'),
    want: [
      'policy.yaml:7:13: rules[0].match.name: unknown field "name": it belongs one level up, beside "match" (or did you mean "names"?)',
    ],
  },
  {
    name: 'an approval field written on the rule belongs inside `approval`',
    input: doc(
      '  - name: a\n    match: {}\n    action: approve\n    count: 2\n    approval: {approvers: ["group:sre"]}\n',
    ),
    want: ['policy.yaml:9:5: rules[0].count: unknown field "count": it belongs inside "approval"'],
  },
  {
    name: 'a misspelt field of the level below is suggested with where it belongs',
    input: doc('  - name: a\n    match: {}\n    verb: [get]\n    action: allow\n'),
    want: [
      'policy.yaml:8:5: rules[0].verb: unknown field "verb" (did you mean "verbs"? it belongs inside "match" or "exclude")',
    ],
  },
  {
    name: 'a field two levels away is named by its place',
    input: doc(
      '  - name: a\n    match: {query: {force: {values: ["true"], verbs: [delete]}}}\n    action: deny\n',
    ),
    want: [
      'policy.yaml:7:47: rules[0].match.query.force.verbs: unknown field "verbs": it belongs in rules[].match or rules[].exclude',
    ],
  },
  {
    name: 'a rule written at the top level belongs inside `rules`',
    input: doc('  - name: a\n    match: {}\n    action: deny\nname: b\n'),
    want: ['policy.yaml:9:1: name: unknown field "name": it belongs inside "rules"'],
  },
  {
    name: 'every error in the file is reported, in file order',
    input: doc(
      '  - name: a\n    match: {verbs: [gte]}\n    action: permit\n  - name: b\n    match: {namespaces: [Prod]}\n    action: deny\n',
    ),
    want: [
      'policy.yaml:7:21: rules[0].match.verbs[0]: "gte" is not a Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection, proxy or *)',
      'policy.yaml:8:13: rules[0].action: "permit" is not an action (allow, deny or approve)',
      'policy.yaml:10:26: rules[1].match.namespaces[0]: "Prod" can never match: namespaces are lower-case DNS labels (letters, digits and "-")',
    ],
  },
  {
    name: 'a singular resource name is refused with its plural',
    input: doc('  - name: a\n    match: {resources: [deployment]}\n    action: deny\n'),
    want: [
      'policy.yaml:7:25: rules[0].match.resources[0]: "deployment" is not a resource: use the plural "deployments"',
    ],
  },
  {
    name: 'an upper-case resource is refused',
    input: doc('  - name: a\n    match: {resources: [Pods]}\n    action: deny\n'),
    want: [
      'policy.yaml:7:25: rules[0].match.resources[0]: "Pods" is not a resource: write lower-case plurals such as "pods", "pods/exec", "*/status" or "deployments/*"',
    ],
  },
  {
    name: 'an unknown resource alias is refused',
    input: doc('  - name: a\n    match: {resources: ["@shell"]}\n    action: deny\n'),
    want: [
      'policy.yaml:7:25: rules[0].match.resources[0]: "@shell" is not a resource alias (known: @exec-capable)',
    ],
  },
  {
    name: 'an invalid regular expression is a compile error with its position',
    input: doc('  - name: a\n    match: {names: ["re:(web"]}\n    action: deny\n'),
    want: [
      'policy.yaml:7:21: rules[0].match.names[0]: "re:(web" is not a valid regular expression: Unterminated group',
    ],
  },
  {
    name: 'an empty regular expression is refused',
    input: doc('  - name: a\n    match: {names: ["re:"]}\n    action: deny\n'),
    want: ['policy.yaml:7:21: rules[0].match.names[0]: "re:" needs a regular expression after it'],
  },
  {
    name: 'a CEL syntax error points into the expression',
    input: doc('  - name: a\n    match: {when: "request.verb =="}\n    action: deny\n'),
    want: ['policy.yaml:7:35: rules[0].match.when: CEL: Unexpected token: EOF'],
  },
  {
    name: 'a CEL error in a block scalar points at its line and column',
    input: doc(
      '  - name: a\n    match:\n      when: |\n        request.verb == "get" &&\n          nope.x\n    action: deny\n',
    ),
    want: ['policy.yaml:10:11: rules[0].match.when: CEL: Unknown variable: nope'],
  },
  {
    name: 'a CEL expression that is not a boolean is refused',
    input: doc('  - name: a\n    match: {when: "request.namespace.size()"}\n    action: deny\n'),
    want: [
      'policy.yaml:7:20: rules[0].match.when: CEL: must be true or false, but this expression gives a int',
    ],
  },
  {
    name: 'a CEL type error is refused',
    input: doc('  - name: a\n    match: {when: "1 + \\"a\\" == 2"}\n    action: deny\n'),
    want: ['policy.yaml:7:20: rules[0].match.when: CEL: no such overload: int + string'],
  },
  {
    name: 'an invalid selector requirement is refused',
    input: doc('  - name: a\n    match: {selector: {requires: ["app in ("]}}\n    action: deny\n'),
    want: [
      `policy.yaml:7:35: rules[0].match.selector.requires[0]: "app in (" is not a label selector: unable to parse requirement: found '', expected: ',', ')' or identifier`,
    ],
  },
  {
    name: 'a selector condition must say something',
    input: doc('  - name: a\n    match: {selector: {}}\n    action: deny\n'),
    want: ['policy.yaml:7:23: rules[0].match.selector: give at least one of present, requires or keys'],
  },
  {
    name: 'present false cannot be combined with requirements',
    input: doc(
      '  - name: a\n    match: {fieldSelector: {present: false, keys: [spec.nodeName]}}\n    action: deny\n',
    ),
    want: [
      'policy.yaml:7:28: rules[0].match.fieldSelector: present: false cannot be combined with requires or keys',
    ],
  },
  {
    name: 'an unquoted boolean label value asks for quotes',
    input: doc(
      '  - name: a\n    match: {objectSelector: {matchLabels: {sensitive: true}}}\n    action: deny\n',
    ),
    want: [
      'policy.yaml:7:55: rules[0].match.objectSelector.matchLabels.sensitive: label values are strings: quote it, "true"',
    ],
  },
  {
    name: 'a label expression with In needs values',
    input: doc(
      '  - name: a\n    match: {objectSelector: {matchExpressions: [{key: a, operator: In}]}}\n    action: deny\n',
    ),
    want: [
      'policy.yaml:7:49: rules[0].match.objectSelector.matchExpressions[0].values: In needs at least one value',
    ],
  },
  {
    name: 'an unknown label operator is refused',
    input: doc(
      '  - name: a\n    match: {objectSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}}\n    action: deny\n',
    ),
    want: [
      'policy.yaml:7:68: rules[0].match.objectSelector.matchExpressions[0].operator: "Equals" is not a selector operator (In, NotIn, Exists, DoesNotExist)',
    ],
  },
  {
    name: 'a query condition of the wrong shape names the field that is wrong',
    input: doc('  - name: a\n    match: {query: {dryRun: {present: "yes"}}}\n    action: deny\n'),
    want: ['policy.yaml:7:39: rules[0].match.query.dryRun.present: must be a boolean, not "yes"'],
  },
  {
    name: 'a query condition that is not a value, list or object is refused',
    input: doc('  - name: a\n    match: {query: {dryRun: null}}\n    action: deny\n'),
    want: [
      'policy.yaml:7:29: rules[0].match.query.dryRun: a query condition is a value, a list of values, or {present: true|false, values: [...]}',
    ],
  },
  {
    name: 'an empty list is refused with advice',
    input: doc('  - name: a\n    match: {verbs: []}\n    action: deny\n'),
    want: [
      'policy.yaml:7:20: rules[0].match.verbs: list at least one verb, or leave the field out to match any',
    ],
  },
  {
    name: 'an empty exclude is refused',
    input: doc('  - name: a\n    match: {}\n    exclude: {}\n    action: deny\n'),
    want: ['policy.yaml:8:14: rules[0].exclude: an empty exclude would exclude every request; remove it'],
  },
  {
    name: 'a duplicate rule name is refused',
    input: doc(
      '  - name: a\n    match: {}\n    action: deny\n  - name: a\n    match: {}\n    action: allow\n',
    ),
    want: ['policy.yaml:9:11: rules[1].name: duplicate rule name "a" (also rules[0])'],
  },
  {
    name: 'an approve rule needs an approval',
    input: doc('  - name: a\n    match: {}\n    action: approve\n'),
    want: ['policy.yaml:6:5: rules[0].approval: action approve needs an approval'],
  },
  {
    name: 'an approval on a deny rule is refused',
    input: doc('  - name: a\n    match: {}\n    action: deny\n    approval: {approvers: ["group:sre"]}\n'),
    want: ['policy.yaml:9:15: rules[0].approval: approval only applies to action approve, not deny'],
  },
  {
    name: 'an approver without a kind is refused',
    input: doc('  - name: a\n    match: {}\n    action: approve\n    approval: {approvers: [sre]}\n'),
    want: [
      'policy.yaml:9:28: rules[0].approval.approvers[0]: "sre" is not an approver: write "user:<name>" or "group:<name>"',
    ],
  },
  {
    name: 'a count above the listed users is refused',
    input: doc(
      '  - name: a\n    match: {}\n    action: approve\n    approval: {approvers: ["user:alice", "user:bob"], count: 3}\n',
    ),
    want: ['policy.yaml:9:62: rules[0].approval.count: count is 3 but only 2 users are listed as approvers'],
  },
  {
    name: 'a duration in days is refused with advice',
    input: doc(
      '  - name: a\n    match: {}\n    action: approve\n    approval: {approvers: ["group:sre"], expiresAfter: 1d}\n',
    ),
    want: [
      'policy.yaml:9:56: rules[0].approval.expiresAfter: "1d" is not a duration (write it like "30s", "5m" or "1h30m"; Go durations have no "d" unit, write hours such as "24h")',
    ],
  },
  {
    name: 'escalateAfter without escalateTo is refused',
    input: doc(
      '  - name: a\n    match: {}\n    action: approve\n    approval: {approvers: ["group:sre"], escalateAfter: 30m}\n',
    ),
    want: ['policy.yaml:9:57: rules[0].approval.escalateAfter: escalateAfter and escalateTo go together'],
  },
  {
    name: 'approvers and stages together are refused',
    input: doc(
      '  - name: a\n    match: {}\n    action: approve\n    approval:\n      approvers: ["group:sre"]\n      stages: [{name: one, approvers: ["group:sre"]}]\n',
    ),
    want: ['policy.yaml:11:15: rules[0].approval.stages: give approvers or stages, not both'],
  },
  {
    name: 'duplicate stage names are refused',
    input: doc(
      '  - name: a\n    match: {}\n    action: approve\n    approval:\n      stages:\n        - {name: one, approvers: ["group:a"]}\n        - {name: one, approvers: ["group:b"]}\n',
    ),
    want: ['policy.yaml:12:18: rules[0].approval.stages[1].name: duplicate stage name "one"'],
  },
  {
    name: 'defaults that approve need an approval',
    input: doc('  []\n', '  action: approve'),
    want: ['policy.yaml:4:3: defaults.approval: action approve needs an approval'],
  },
  {
    name: 'a missing field is reported at its parent',
    input: doc('  - name: a\n    action: deny\n'),
    want: ['policy.yaml:6:5: rules[0].match: is required'],
  },
  {
    name: 'a wrong apiVersion is refused',
    input: 'apiVersion: v1\nkind: Policy\ndefaults: {action: deny}\nrules: []\n',
    want: ['policy.yaml:1:13: apiVersion: apiVersion must be kubegate.dev/v1alpha1, not "v1"'],
  },
  {
    name: 'a YAML syntax error is reported with its position',
    input: 'apiVersion: kubegate.dev/v1alpha1\nkind: Policy\nrules: [a, b\n',
    want: [
      'policy.yaml:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  },
  {
    name: 'a duplicate YAML key is refused',
    input:
      'apiVersion: kubegate.dev/v1alpha1\nkind: Policy\nkind: Policy\ndefaults: {action: deny}\nrules: []\n',
    want: ['policy.yaml:3:1: Map keys must be unique'],
  },
  {
    name: 'an empty file is refused',
    input: '# nothing here\n',
    want: ['policy.yaml:1:1: the file is empty'],
  },
];

for (const row of invalid) {
  test(row.name, () => {
    const result = loadPolicy(row.input, 'policy.yaml');
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.issues.map(formatIssue), row.want);
  });
}

const valid: readonly { name: string; input: string; want: { rules: number } }[] = [
  {
    name: 'the design document example loads',
    input: `apiVersion: kubegate.dev/v1alpha1
kind: Policy
defaults:
  action: approve
  approval: { approvers: ["group:sre"], count: 1 }
rules:
  - name: reads-are-free
    match: { verbs: [get, list, watch] }
    exclude: { resources: [secrets] }
    action: allow
  - name: staging-deletes
    match: { verbs: [delete], resources: [deployments], namespaces: [staging] }
    action: allow
  - name: never-delete-prod-deployments
    match: { verbs: [delete, deletecollection], resources: [deployments], namespaces: ["prod*"] }
    action: deny
    message: Deleting deployments in production is not allowed.
  - name: statefulsets-need-two
    match: { resources: [statefulsets], verbs: [create, update, patch, delete] }
    action: approve
    approval: { approvers: ["group:sre"], count: 2 }
  - name: sensitive-exec
    match:
      resources: [pods/exec, pods/attach]
      objectSelector: { matchLabels: { sensitive: "true" } }
    action: approve
    approval: { approvers: ["group:security"], count: 1 }
`,
    want: { rules: 5 },
  },
  {
    name: 'a rule using every match field loads',
    input: doc(`  - name: everything
    match:
      subjects: { users: [alice, "system:serviceaccount:ci:*"], groups: ["re:team-[a-z]+"] }
      verbs: [delete, deletecollection]
      apiGroups: ["", apps]
      resources: [pods, "*/status", "deployments/*", "@exec-capable"]
      namespaces: ["prod-?", "re:prod-[0-9]+", ""]
      names: ["web-*"]
      selector: { present: true, requires: ["app=web", "tier in (a,b)"], keys: [app] }
      fieldSelector: { requires: [spec.nodeName=n1] }
      objectSelector:
        matchLabels: { app.kubernetes.io/name: web }
        matchExpressions: [{ key: env, operator: NotIn, values: [prod] }, { key: frozen, operator: DoesNotExist }]
      query: { dryRun: { present: false }, gracePeriodSeconds: 0, force: true, command: ["rm *", "re:.*shutdown.*"] }
      when: request.namespace != "kube-system" && now > timestamp("2020-01-01T00:00:00Z")
    exclude: { subjects: { users: [oncall] } }
    action: approve
    message: Careful.
    approval:
      stages:
        - { name: team, approvers: ["group:team-leads"], count: 1 }
        - { name: sre, approvers: ["group:sre", "user:carol"], count: 2 }
      escalateAfter: 30m
      escalateTo: ["group:sre-managers"]
      expiresAfter: 4h
      mode: deferred
      grantTTL: 15m
      breakGlass: true
`),
    want: { rules: 1 },
  },
];

for (const row of valid) {
  test(row.name, () => {
    const result = loadPolicy(row.input, 'policy.yaml');
    assert.deepEqual(result.ok ? [] : result.issues.map(formatIssue), []);
    if (result.ok) assert.equal(result.policy.rules.length, row.want.rules);
  });
}

test('approval settings compile to milliseconds and stages', () => {
  const result = loadPolicy(
    doc(
      '  - name: a\n    match: {}\n    action: approve\n    approval: {approvers: ["group:sre", "user:bob"], count: 2, escalateAfter: 1h30m, escalateTo: ["group:leads"], grantTTL: 90s}\n',
    ),
    'policy.yaml',
  );
  assert.ok(result.ok);
  assert.deepEqual(result.policy.rules[0]?.approval, {
    rule: 'a',
    stages: [
      {
        name: 'approval',
        approvers: [
          { kind: 'group', name: 'sre' },
          { kind: 'user', name: 'bob' },
        ],
        count: 2,
      },
    ],
    escalateAfterMs: 5_400_000,
    escalateTo: [{ kind: 'group', name: 'leads' }],
    expiresAfterMs: null,
    mode: 'hold',
    grantTtlMs: 90_000,
    breakGlass: false,
  });
});
