// How the chat views show an answer (media/shared/answerText.ts): leading newlines as symbols instead of a tall blank
// block, long runs of newlines folded, undecodable bytes and invisible characters as labelled markers, the rest as is.
import { strict as assert } from 'node:assert';
import { answerSegments, type AnswerSegment } from '../../media/shared/answerText';

const shown = (segs: AnswerSegment[]) => segs.map((s) => (s.kind === 'text' ? s.text : `[${s.text}]`)).join('');

describe('chat answer text', () => {
  it('keeps ordinary text and a single leading space as they are', () => {
    assert.deepEqual(answerSegments('Drink water.\nRest.'), [{ kind: 'text', text: 'Drink water.\nRest.' }]);
    assert.equal(shown(answerSegments(' Bapt Bapt')), ' Bapt Bapt');
    assert.equal(shown(answerSegments('Done.\n')), 'Done.');
  });

  it('shows leading and trailing newlines as ↵ symbols on one line, saying how many', () => {
    const segs = answerSegments('\n\n\n\n middleware middleware');
    assert.equal(shown(segs), '[↵↵↵↵·]middleware middleware');
    assert.equal(segs[0]!.kind, 'space');
    assert.match((segs[0] as { title: string }).title, /leading whitespace: 4 newlines, 1 space/);
    assert.equal(shown(answerSegments('end\n\n\n')), 'end[↵↵↵]');
    assert.equal(shown(answerSegments('\n\n')), '[↵↵]', 'an answer of only newlines is still visible');
  });

  it('folds runs of more than two newlines into one marker line, and keeps one blank line', () => {
    assert.equal(shown(answerSegments('a\n\nb')), 'a\n\nb');
    assert.equal(shown(answerSegments('a\n\n\n\n\nb')), 'a\n[↵ ×5]\nb');
  });

  it('marks undecodable bytes (U+FFFD runs) and invisible characters instead of drawing boxes', () => {
    const segs = answerSegments('getRaw-\uFFFD\uFFFDEndian\u200Bx\u0007y\uE000');
    assert.equal(shown(segs), 'getRaw-[?]Endian[U+200B]x[U+0007]y[U+E000]');
    assert.match((segs[1] as { title: string }).title, /2 undecodable pieces/);
    assert.equal(shown(answerSegments('tab\there é 漢字 🙂')), 'tab\there é 漢字 🙂', 'tabs and real characters of any script stay text');
    assert.equal(shown(answerSegments('a\r\nb')), 'a\nb');
    // Characters no installed font draws (the browser measures it) are named instead of shown as boxes.
    assert.equal(shown(answerSegments('ok 漢字 é', (c) => c === '漢')), 'ok [U+6F22]字 é');
  });
});
