// The datasets feature on the host: the dataset browser panel, the "Experiment" sidebar (which opens datasets in
// that browser) and "EM Lab: Get Training Data". One activate function, one line in extension.ts.
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import { activateExperimentTree } from '../sidebar/experimentTree';
import { activateDatasetBrowser, DatasetBrowser } from './datasetBrowser';
import { activateGetTrainingData } from './getTrainingData';

export function activateDatasets(deps: HostDeps): vscode.Disposable {
  const browser = new DatasetBrowser(deps);
  return vscode.Disposable.from(activateDatasetBrowser(deps, browser), activateExperimentTree(deps, browser), activateGetTrainingData(deps));
}
