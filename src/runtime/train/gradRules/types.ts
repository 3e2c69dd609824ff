import type { NodeIR, Value } from '../../onnx/graphBuilder';
import type { GradCtx } from '../gradCtx';

/**
 * A gradient rule: given the forward node, the gradients of its outputs (undefined where the loss does not depend
 * on an output) and which inputs need a gradient, returns one gradient per input (undefined where not needed).
 * Rules must not compute gradients for inputs whose `needs` entry is false: that is where frozen weights save work.
 */
export type GradRule = (ctx: GradCtx, node: NodeIR, dys: (Value | undefined)[], needs: boolean[]) => (Value | undefined)[];
