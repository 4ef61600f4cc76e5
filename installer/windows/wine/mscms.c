/* Stand-in for the colour-management functions Qt's windows platform plugin imports and Wine 8.0
 * lacks, for the Wine test prefix ONLY (never shipped). No colour profile is ever available. */
#include <windows.h>
#define EXPORT __declspec(dllexport)
EXPORT HANDLE WINAPI OpenColorProfileW(void *p, DWORD a, DWORD s, DWORD c) { (void)p; (void)a; (void)s; (void)c; return NULL; }
EXPORT BOOL WINAPI CloseColorProfile(HANDLE h) { (void)h; return TRUE; }
EXPORT BOOL WINAPI GetColorProfileFromHandle(HANDLE h, BYTE *b, DWORD *n) { (void)h; (void)b; (void)n; return FALSE; }
EXPORT HANDLE WINAPI WcsCreateIccProfile(HANDLE h, DWORD o) { (void)h; (void)o; return NULL; }
