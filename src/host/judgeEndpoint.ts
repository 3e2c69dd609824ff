// The judge's endpoint from the emLab.judge.baseUrl setting, which is machine-scoped (package.json): the user's key
// goes wherever it points, so only the user (user or remote-machine settings) may set it. A value a workspace
// sets (.vscode/settings.json of a cloned repository) is ignored, and the user is told. vscode-free so unit tests
// run it with the shape of WorkspaceConfiguration.inspect(). The rule is written in docs/secrets.md.

export interface SettingInspection<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export interface JudgeEndpoint {
  /** The user-level value, or undefined for OpenAI. */
  baseURL?: string;
  /** Set when a workspace tried to choose the endpoint: the message to show. */
  ignored?: string;
}

export function judgeEndpointFrom(i: SettingInspection<string> | undefined): JudgeEndpoint {
  const fromWorkspace = i?.workspaceFolderValue ?? i?.workspaceValue;
  const user = i?.globalValue || undefined;
  return {
    ...(user ? { baseURL: user } : {}),
    ...(fromWorkspace
      ? { ignored: `EM Lab ignored emLab.judge.baseUrl = "${fromWorkspace}" from this workspace's settings: a workspace may not choose where your OpenAI key is sent. The judge uses ${user ?? 'OpenAI (https://api.openai.com/v1)'}. To use that endpoint, set it in your User settings.` }
      : {}),
  };
}

/**
 * The value a workspace's .vscode/settings.json gives emLab.judge.baseUrl. VS Code drops machine-scoped values from
 * a workspace before inspect() sees them, so the file is read to tell the user that theirs was ignored. A lenient
 * match (the file is JSON with comments); only used for the message, never as the endpoint.
 */
export function workspaceJudgeBaseUrl(settingsText: string): string | undefined {
  const m = /"emLab\.judge\.baseUrl"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(settingsText);
  return m && m[1] ? m[1] : undefined;
}
