/**
 * The Electron shell: one window, the menu, the media protocol, security settings, and the
 * IPC binding. Everything else is the Electron-free core (main/core).
 */
import { app, BrowserWindow, dialog, Menu, net, protocol, session, shell } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SAMPLE_PLATES_CREDIT } from '../core/credits.js';
import { resolveHome } from '../core/home.js';
import { HomeLockedError } from '../core/home-lock.js';
import { DatabaseDamagedError } from '../core/store/db.js';
import { Studio } from '../core/studio.js';
import { APP_ROOT, DEFAULT_RESOURCES_DIR, PACKAGE_VERSION } from '../core/version.js';
import { CSP, isMediaKey, MEDIA_SCHEME } from '../core/api/security.js';
import { bindIpc } from './ipc.js';
import { spawnUtilityChild } from './utility-child.js';

protocol.registerSchemesAsPrivileged([{ scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true } }]);

// PLUMAGE_HOME / --home win; otherwise Electron's own per-user folder.
const homeFlag = process.argv.find((a) => a.startsWith('--home='))?.slice('--home='.length);
const home = homeFlag || process.env.PLUMAGE_HOME ? resolveHome(homeFlag) : app.getPath('userData');
const resourcesDir = app.isPackaged ? process.resourcesPath : DEFAULT_RESOURCES_DIR;

async function createWindow(studio: Studio): Promise<void> {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'Plumage',
    backgroundColor: '#f5f1e6',
    webPreferences: {
      preload: join(APP_ROOT, 'dist', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  // Nothing navigates away from the app, and nothing opens new windows; links go to the browser.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  const unbind = bindIpc(studio, win, {
    pickFolder: async () => {
      const r = await dialog.showOpenDialog(win, { title: 'Choose a folder', properties: ['openDirectory'] });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    revealFile: (path) => shell.showItemInFolder(path),
  });
  win.on('closed', unbind);
  await win.loadFile(join(APP_ROOT, 'dist', 'renderer', 'index.html'));
}

function buildMenu(): void {
  const about = (): void => {
    void dialog.showMessageBox({
      type: 'info',
      title: 'About Plumage',
      message: `Plumage ${PACKAGE_VERSION}`,
      detail: `Train StyleGAN2 on your own folder of images.\n\n${SAMPLE_PLATES_CREDIT}`,
    });
  };
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { role: 'fileMenu' },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'help', submenu: [{ label: 'About Plumage', click: about }] },
    ]),
  );
}

async function start(): Promise<void> {
  await app.whenReady();
  const studio = Studio.open({
    home,
    resourcesDir,
    shell: 'electron',
    spawn: spawnUtilityChild, // every child: the trainer, the generator and export processes
    scoreCheckpoints: true,
  });
  void studio.warmUp().catch(() => {}); // the gallery's first screenful need not wait for tfjs to start
  // Thumbnails and grids: only files under the home's media folders, never arbitrary paths.
  protocol.handle(MEDIA_SCHEME, (request) => {
    const key = decodeURIComponent(new URL(request.url).pathname.replace(/^\/+/, ''));
    if (!isMediaKey(key)) {
      return new Response('not found', { status: 404 });
    }
    return net.fetch(pathToFileURL(join(studio.home, key)).toString());
  });
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [CSP],
      },
    });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  buildMenu();
  await createWindow(studio);
  void studio.resume();
  app.on('window-all-closed', () => app.quit());
  // Quitting is a pause: let running trainers finish their step and write a checkpoint first.
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    void studio.close().finally(() => app.quit());
  });
}

// A home another process owns, or a damaged database: the message says which process or file, and what to do.
start().catch((err: Error) => {
  const title =
    err instanceof HomeLockedError
      ? 'Plumage is already using this home'
      : err instanceof DatabaseDamagedError
        ? "Plumage's database is damaged"
        : 'Plumage could not start';
  dialog.showErrorBox(title, err.message);
  app.exit(1);
});
