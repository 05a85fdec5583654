// Table tests for resolvePlainScalar: go-yaml v2's resolve.go as sigs.k8s.io/yaml v1.6.0 runs it.
// Every row's `want` was checked against YAMLToJSON("a: <input>") of the kube-apiserver v1.34.4
// build's modules (go.yaml.in/yaml/v2 v2.4.2); the integer rows also state go-yaml's Go type
// (int, uint64 or float64), which JSON's numbers cannot show.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GoYamlScalar } from './yaml-resolve.js';
import { resolvePlainScalar } from './yaml-resolve.js';

const str = (value: string): GoYamlScalar => ({ type: 'string', value });
const int = (value: bigint): GoYamlScalar => ({ type: 'int', value });
const uint = (value: bigint): GoYamlScalar => ({ type: 'uint', value });
const float = (value: number): GoYamlScalar => ({ type: 'float', value });
const bool = (value: boolean): GoYamlScalar => ({ type: 'bool', value });
const NULL: GoYamlScalar = { type: 'null' };

const rows: { name: string; input: string; want: GoYamlScalar }[] = [
  { name: 'the empty scalar is null', input: '', want: NULL },
  { name: '~ is null', input: '~', want: NULL },
  { name: 'null is null', input: 'null', want: NULL },
  { name: 'NULL is null', input: 'NULL', want: NULL },
  { name: 'nULL is a string (only three spellings)', input: 'nULL', want: str('nULL') },
  { name: 'y is true (YAML 1.1)', input: 'y', want: bool(true) },
  { name: 'Y is true', input: 'Y', want: bool(true) },
  { name: 'yes is true', input: 'yes', want: bool(true) },
  { name: 'YES is true', input: 'YES', want: bool(true) },
  { name: 'yEs is a string', input: 'yEs', want: str('yEs') },
  { name: 'on is true', input: 'on', want: bool(true) },
  { name: 'ON is true', input: 'ON', want: bool(true) },
  { name: 'n is false', input: 'n', want: bool(false) },
  { name: 'no is false', input: 'no', want: bool(false) },
  { name: 'off is false', input: 'off', want: bool(false) },
  { name: 'Off is false', input: 'Off', want: bool(false) },
  { name: 'True is true', input: 'True', want: bool(true) },
  { name: 'tRUE is a string', input: 'tRUE', want: str('tRUE') },
  { name: '1 is an int', input: '1', want: int(1n) },
  { name: '+5 is 5', input: '+5', want: int(5n) },
  { name: '-0 is the int 0', input: '-0', want: int(0n) },
  { name: 'a leading 0 means octal: 007 is 7', input: '007', want: int(7n) },
  { name: '017 is 15', input: '017', want: int(15n) },
  { name: '08 is not octal, so it is the float 8', input: '08', want: float(8) },
  { name: '09 is the float 9', input: '09', want: float(9) },
  { name: '0o17 is 15 (Go syntax; a string to npm yaml)', input: '0o17', want: int(15n) },
  { name: '0O17 is 15', input: '0O17', want: int(15n) },
  { name: '0x1F is 31', input: '0x1F', want: int(31n) },
  { name: '0b101 is 5', input: '0b101', want: int(5n) },
  { name: '0b-101 is -5 (the 0b fallback parses a sign)', input: '0b-101', want: int(-5n) },
  { name: '-0b101 is -5', input: '-0b101', want: int(-5n) },
  { name: '0b alone is a string', input: '0b', want: str('0b') },
  { name: '0x alone is a string', input: '0x', want: str('0x') },
  { name: 'underscores are removed: 1_000 is 1000', input: '1_000', want: int(1000n) },
  { name: '1_ is 1', input: '1_', want: int(1n) },
  { name: '0x_1F is 31', input: '0x_1F', want: int(31n) },
  { name: '_1 is a string: _ gives no hint', input: '_1', want: str('_1') },
  { name: '1.5 is a float', input: '1.5', want: float(1.5) },
  { name: '1. is the float 1', input: '1.', want: float(1) },
  { name: '.5 is 0.5', input: '.5', want: float(0.5) },
  { name: '+.5 is 0.5', input: '+.5', want: float(0.5) },
  { name: '.5e3 is 500', input: '.5e3', want: float(500) },
  { name: '1e3 is the float 1000', input: '1e3', want: float(1000) },
  { name: '1E+3 is 1000', input: '1E+3', want: float(1000) },
  { name: '1e-3 is 0.001', input: '1e-3', want: float(0.001) },
  { name: '1e400 overflows, so it stays a string', input: '1e400', want: str('1e400') },
  { name: '1e-400 underflows to 0', input: '1e-400', want: float(0) },
  { name: '1_0.5 is 10.5', input: '1_0.5', want: float(10.5) },
  { name: '.5_0 is 0.5: ParseFloat allows underscores between digits', input: '.5_0', want: float(0.5) },
  { name: '._5 is a string', input: '._5', want: str('._5') },
  { name: '.inf is +Inf', input: '.inf', want: float(Infinity) },
  { name: '-.Inf is -Inf', input: '-.Inf', want: float(-Infinity) },
  { name: 'inf is a string', input: 'inf', want: str('inf') },
  { name: 'sexagesimal 1:20 is a string', input: '1:20', want: str('1:20') },
  { name: 'sexagesimal 190:20:30 is a string', input: '190:20:30', want: str('190:20:30') },
  {
    name: 'the largest int64 is an int',
    input: '9223372036854775807',
    want: int(9223372036854775807n),
  },
  { name: 'one more is a uint64', input: '9223372036854775808', want: uint(9223372036854775808n) },
  {
    name: 'the smallest int64 is an int',
    input: '-9223372036854775808',
    want: int(-9223372036854775808n),
  },
  { name: 'one less is a float', input: '-9223372036854775809', want: float(Number('-9223372036854775809')) },
  {
    name: 'the largest uint64 is a uint64',
    input: '18446744073709551615',
    want: uint(18446744073709551615n),
  },
  { name: 'one more is a float', input: '18446744073709551616', want: float(Number('18446744073709551616')) },
  { name: '0xFFFFFFFFFFFFFFFF is a uint64', input: '0xFFFFFFFFFFFFFFFF', want: uint(18446744073709551615n) },
  { name: 'a timestamp stays its text', input: '2024-01-01', want: str('2024-01-01') },
  { name: '1.2.3 is a string', input: '1.2.3', want: str('1.2.3') },
  { name: 'prod-db is a string', input: 'prod-db', want: str('prod-db') },
  { name: '<< is a string as a value', input: '<<', want: str('<<') },
  { name: 'a non-ASCII digit is a string', input: '\u0661', want: str('\u0661') },
];

for (const row of rows) {
  test(row.name, () => {
    assert.deepEqual(resolvePlainScalar(row.input), row.want);
  });
}
