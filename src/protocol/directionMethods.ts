// Direction files (docs/steering.md) as the views see them: what a file holds, so a steering control can offer its
// layers and scale its strength slider in units of |d|. Types only.

export interface DirectionInfo {
  /** Absolute path. */
  file: string;
  hiddenSize: number;
  /** Decoder layers the file has a vector for, ascending, with each vector's length |d_L|. */
  layers: { layer: number; norm: number }[];
  /** The file's metadata (model, adapter, preset, counts, ...). */
  metadata: Record<string, string>;
}

export interface DirectionMethods {
  /** Reads a direction file; refuses one that is not (naming the problem). */
  'direction/info': [{ file: string }, DirectionInfo];
}
