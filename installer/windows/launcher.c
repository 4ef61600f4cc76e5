/* dbcomm's launcher: starts the bundled Python runtime on the dbcomm package.
 *
 * Built twice: dbcomm.exe (GUI=1, no console: the window) and dbcomm-cli.exe (GUI=0: commands
 * such as "dbcomm-cli self-test", with their output in the console and their exit status).
 * The arguments given to the launcher are passed on unchanged.
 */
#include <windows.h>
#include <shlwapi.h>
#include <stdio.h>
#include <wchar.h>

static const wchar_t *skip_program_name(const wchar_t *line) {
    if (*line == L'"') {
        line++;
        while (*line && *line != L'"') line++;
        if (*line) line++;
    } else {
        while (*line && *line != L' ' && *line != L'\t') line++;
    }
    while (*line == L' ' || *line == L'\t') line++;
    return line;
}

static void fail(const wchar_t *what, DWORD code) {
    wchar_t text[1200];
    _snwprintf(text, 1200,
               L"dbcomm không khởi động được: %ls (mã lỗi %lu).\n"
               L"Hãy cài đặt lại dbcomm.\n\n"
               L"dbcomm could not start: %ls (error %lu).\nPlease install dbcomm again.",
               what, code, what, code);
#if GUI
    MessageBoxW(NULL, text, L"dbcomm", MB_ICONERROR | MB_OK);
#else
    fwprintf(stderr, L"%ls\n", text);
#endif
}

int wmain(void) {
    wchar_t here[MAX_PATH], python[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, here, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) { fail(L"GetModuleFileNameW", GetLastError()); return 9; }
    PathRemoveFileSpecW(here);
#if GUI
    _snwprintf(python, MAX_PATH, L"%ls\\runtime\\pythonw.exe", here);
#else
    _snwprintf(python, MAX_PATH, L"%ls\\runtime\\python.exe", here);
#endif
    if (GetFileAttributesW(python) == INVALID_FILE_ATTRIBUTES) {
        fail(python, GetLastError());
        return 9;
    }
    const wchar_t *rest = skip_program_name(GetCommandLineW());
    size_t size = wcslen(python) + wcslen(rest) + 64;
    wchar_t *command = HeapAlloc(GetProcessHeap(), 0, size * sizeof(wchar_t));
    if (!command) { fail(L"HeapAlloc", GetLastError()); return 9; }
    _snwprintf(command, size, L"\"%ls\" -X utf8 -m dbcomm %ls", python, rest);

    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    ZeroMemory(&pi, sizeof pi);
    /* Commands share the console (or the caller's pipes); the window needs no handles of ours. */
    if (!CreateProcessW(python, command, NULL, NULL, GUI ? FALSE : TRUE, 0, NULL, NULL, &si, &pi)) {
        fail(L"CreateProcessW", GetLastError());
        return 9;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return (int)code;
}
