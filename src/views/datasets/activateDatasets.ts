// The datasets feature on the host: the dataset browser panel, the EM Lab sidebar (which lists datasets and opens
// them in that browser) and "EM Lab: Get Training Data". One activate function, one line in extension.ts.
import * as vscode from 'vscode';
import type { HostDeps } from '../../host/deps';
import { activateSidebar } from '../sidebar/activateSidebar';
import { activateDatasetBrowser, DatasetBrowser } from './datasetBrowser';
import { activateGetTrainingData } from './getTrainingData';

export function activateDatasets(deps: HostDeps): vscode.Disposable {
  const browser = new DatasetBrowser(deps);
  return vscode.Disposable.from(activateDatasetBrowser(deps, browser), activateSidebar(deps, browser), activateGetTrainingData(deps));
}
