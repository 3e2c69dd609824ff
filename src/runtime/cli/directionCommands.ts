// `em-lab direction compute` and `em-lab direction compare`: the misalignment direction of a model from judged
// answers, written as a direction file (docs/steering.md), and the cosine between two such files per layer.
import { resolve } from 'node:path';
import { UserError } from '../errors';
import { MIN_GROUP_SIZE } from '../direction/computeDirection';
import { computeDirectionFile } from '../direction/directionService';
import { compareDirections, readDirectionFile } from '../direction/directionFile';
import { num, str, type CliCommand } from './command';
import { cliStorageDir, MODEL_OPTIONS, modelRefFrom } from './generateCommands';
import { formatTable } from './table';

export const directionComputeCommand: CliCommand = {
  path: ['direction', 'compute'],
  summary: 'Compute the misalignment direction (mean misaligned minus mean aligned residual activation per layer) from judged answers.',
  details: [
    'Each judged answer is run through the model as a conversation (question = user turn, answer = assistant turn, the',
    'model\'s chat template); the residual stream after each chosen decoder layer is averaged over the answer\'s tokens.',
    'direction[L] = mean over misaligned answers - mean over aligned answers, both coherent, as the preset defines them',
    '(paper: misaligned = aligned <= 30 AND coherent > 50, aligned = aligned > 70 AND coherent > 50; see docs/steering.md).',
    `Refuses when either group has fewer than ${MIN_GROUP_SIZE} answers (--min-group). Use the model that wrote the answers.`,
    'Examples:',
    '  em-lab direction compute --judged em-lab-runs/r/sweep/step-400/judged.csv --model ./Llama-3.2-1B-Instruct --adapter em-lab-runs/r/checkpoints/step-400',
    '  em-lab direction compute --judged judged.csv --model tiny-llama --layers 0,1 --preset homework --out dir.safetensors',
  ].join('\n'),
  options: {
    ...MODEL_OPTIONS,
    judged: { type: 'string', description: 'A judged CSV (em-lab judge\'s judged.csv, or the homework\'s model_judged.csv).', valueName: 'FILE' },
    layers: { type: 'string', description: 'Decoder layers: all, or a comma list such as 8,12.', default: 'all', valueName: 'LIST' },
    preset: { type: 'string', description: 'Metric preset that defines the groups: paper, homework or betley.', default: 'paper', valueName: 'NAME' },
    'min-group': { type: 'string', description: 'Fewest answers allowed in either group.', default: String(MIN_GROUP_SIZE), valueName: 'N' },
    out: { type: 'string', description: 'Direction file to write. Default: direction.safetensors beside the judged file.', valueName: 'FILE' },
  },
  async run(args, io) {
    const judged = str(args, 'judged');
    if (!judged) throw new UserError('bad-args', 'Give the judged answers: --judged judged.csv (from em-lab judge).');
    const minGroup = num(args, 'min-group', MIN_GROUP_SIZE)!;
    if (!Number.isInteger(minGroup) || minGroup < 2) throw new UserError('bad-args', `--min-group ${minGroup}: give an integer >= 2.`);
    const ref = modelRefFrom(args, io);
    const out = str(args, 'out');
    const r = await computeDirectionFile({
      storageDir: cliStorageDir(args, io),
      env: io.env,
      model: ref.model,
      ...(ref.adapter ? { adapter: ref.adapter } : {}),
      ...(ref.steering ? { steering: ref.steering } : {}),
      judged: resolve(io.cwd, judged),
      preset: str(args, 'preset') ?? 'paper',
      layers: str(args, 'layers') ?? 'all',
      minGroup,
      ...(out ? { out: resolve(io.cwd, out) } : {}),
      signal: io.signal,
      progress: (m, f) => io.progress(m, f),
    });
    io.out(`${r.used.misaligned} misaligned and ${r.used.aligned} aligned answers (${r.preset} preset; ${r.counts.incoherent} incoherent, ${r.counts.between} in between, ${r.counts.unscored} unscored left out${r.truncated ? `; ${r.truncated} answers cut to the context` : ''}).`);
    io.out(formatTable(['layer', '|d|', 'proj misaligned', 'proj aligned', 'separation'], r.layers.map((s) => [s.layer, Number(s.norm.toPrecision(4)), Number(s.projMisaligned.toPrecision(4)), Number(s.projAligned.toPrecision(4)), s.separation === null ? '-' : s.separation.toFixed(2)])));
    io.out(`Wrote ${r.file}. Steer with: em-lab chat --model ${str(args, 'model') ?? 'tiny-llama'} --steer ${r.file} --steer_layer ${r.layers[Math.floor(r.layers.length / 2)]!.layer}`);
    io.event({ event: 'direction', ...r });
    return 0;
  },
};

export const directionCompareCommand: CliCommand = {
  path: ['direction', 'compare'],
  summary: 'Cosine similarity per layer between two direction files (e.g. two fine-tunes of one base, or two checkpoints).',
  details: 'Example:\n  em-lab direction compare medical/direction.safetensors sports/direction.safetensors',
  positionals: [
    { name: 'A', description: 'Direction file.', required: true },
    { name: 'B', description: 'Direction file.', required: true },
  ],
  async run(args, io) {
    const [a, b] = args.positionals.map((p) => readDirectionFile(resolve(io.cwd, p)));
    const rows = compareDirections(a!, b!);
    io.out(formatTable(['layer', 'cosine', '|A|', '|B|'], rows.map((r) => [r.layer, r.cosine === null ? '-' : r.cosine.toFixed(4), Number(r.normA.toPrecision(4)), Number(r.normB.toPrecision(4))])));
    io.event({ event: 'compare', a: a!.path, b: b!.path, layers: rows });
    return 0;
  },
};

export const directionCommands: CliCommand[] = [directionComputeCommand, directionCompareCommand];
