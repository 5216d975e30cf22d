// The mingw-w64 twin of node-gyp's src/win_delay_load_hook.cc (which compiles only under MSVC),
// linked into the win32 prebuild by scripts/prebuild-win32.sh.
//
// The DLL imports N-API from "NODE.EXE" through a delay-load import library. A plain import would
// make Windows look for a module of that name, so the addon would not load in a renamed node.exe
// or in an Electron-style host that exports N-API itself; resolving the import to the process
// image (or libnode.dll, for Node built as a DLL) at first use makes it load in any of them, as
// addons built by node-gyp on Windows do.
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
// windows.h first: delayimp.h uses its types.
#include <delayimp.h>
#include <string.h>

namespace {

FARPROC WINAPI LoadExeHook(unsigned event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary || _stricmp(info->szDll, "node.exe") != 0) return nullptr;
  HMODULE m = GetModuleHandleA("libnode.dll");
  if (m == nullptr) m = GetModuleHandleA(nullptr);
  return reinterpret_cast<FARPROC>(m);
}

}  // namespace

// mingw-w64's __delayLoadHelper2 (libmingwex) calls this before it would LoadLibrary a DLL.
PfnDliHook __pfnDliNotifyHook2 = LoadExeHook;

#endif  // _WIN32
