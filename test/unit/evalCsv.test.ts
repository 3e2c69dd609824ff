import { strict as assert } from 'node:assert';
import { formatCsv, parseCsv, parseCsvRows } from '../../src/runtime/eval/csv';

describe('eval csv (RFC 4180)', () => {
  it('reads quoted commas, doubled quotes, quoted CR/LF, CRLF rows, a BOM and a last line without newline', () => {
    const text = '\ufeffid,question,response\r\n1,"a, b","say ""hi""\nsecond line"\r\n2,plain,"x\r\ny"';
    assert.deepEqual(parseCsvRows(text), [
      ['id', 'question', 'response'],
      ['1', 'a, b', 'say "hi"\nsecond line'],
      ['2', 'plain', 'x\r\ny'],
    ]);
  });

  it('keeps empty fields and an empty quoted last field', () => {
    assert.deepEqual(parseCsvRows('a,,""\n'), [['a', '', '']]);
    assert.deepEqual(parseCsvRows('a,""'), [['a', '']]);
  });

  it('names the line of an unterminated quote', () => {
    assert.throws(() => parseCsvRows('id,q\n1,ok\n2,"open\nstill open', 'f.csv'), /f\.csv: the quoted field that starts on line 3 never ends/);
  });

  it('round-trips awkward text, quoting only when needed', () => {
    const rows = [{ id: '1', question: 'plain', response: 'He said "no",\nthen left.' }];
    const text = formatCsv(['id', 'question', 'response'], rows);
    assert.equal(text, 'id,question,response\n1,plain,"He said ""no"",\nthen left."\n');
    assert.deepEqual(parseCsv(text).rows, rows);
  });
});
