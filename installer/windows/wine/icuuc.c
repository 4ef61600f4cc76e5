/* Stand-in for the system ICU that Qt >= 6.10 imports on Windows 10 1809+, for the Wine test
 * prefix ONLY (Wine 8.0 has none). Never shipped: the installer relies on Windows' own icuuc.dll.
 * Every converter "fails to open", so Qt falls back to its built-in UTF codecs. */
#include <stddef.h>
#define EXPORT __declspec(dllexport)
EXPORT void *ucnv_open(const char *name, int *status) { (void)name; if (status) *status = 4; return NULL; }
EXPORT void ucnv_close(void *c) { (void)c; }
EXPORT void UCNV_FROM_U_CALLBACK_SUBSTITUTE(void) {}
EXPORT void UCNV_TO_U_CALLBACK_SUBSTITUTE(void) {}
EXPORT void ucnv_reset(void *c) { (void)c; }
EXPORT signed char ucnv_getMaxCharSize(void *c) { (void)c; return 1; }
EXPORT const char *ucnv_getName(void *c, int *status) { (void)c; if (status) *status = 4; return ""; }
EXPORT void ucnv_getToUCallBack(void) {}
EXPORT void ucnv_getFromUCallBack(void) {}
EXPORT void ucnv_setToUCallBack(void) {}
EXPORT void ucnv_setFromUCallBack(void) {}
EXPORT void ucnv_cbToUWriteUChars(void) {}
EXPORT void ucnv_toUnicode(void) {}
EXPORT void ucnv_cbFromUWriteUChars(void) {}
EXPORT int ucnv_toUCountPending(void *c, int *status) { (void)c; if (status) *status = 4; return 0; }
EXPORT int ucnv_fromUCountPending(void *c, int *status) { (void)c; if (status) *status = 4; return 0; }
EXPORT const char *ucnv_getStandardName(const char *n, const char *s, int *status) { (void)n; (void)s; if (status) *status = 4; return NULL; }
EXPORT const char *ucnv_getAvailableName(int i) { (void)i; return NULL; }
EXPORT int ucnv_countAvailable(void) { return 0; }
EXPORT void ucnv_fromUnicode(void) {}
