// The sandboxed preload: it can only require('electron'), so scripts/build-ui.mjs bundles it into one CJS file.
import { contextBridge, ipcRenderer } from 'electron';
import { API_GLOBAL } from '../common/ipc-contract';
import { buildClawdeskApi } from './api-bridge';

contextBridge.exposeInMainWorld(API_GLOBAL, buildClawdeskApi(ipcRenderer));
