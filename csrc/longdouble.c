/*
 * INCRBYFLOAT must answer exactly what Redis answers, and Redis does that
 * arithmetic in the C `long double` type (80-bit extended precision on x86-64)
 * and prints it with "%.17Lf". Rust has no such type, so this one operation is
 * done in C, by the platform's own strtold/printf.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHARS (5 * 1024)

/* Parse like Redis's string2ld: no leading space, no trailing garbage (an
 * embedded NUL counts as garbage: the whole text must be consumed), not NaN,
 * no overflow/underflow to a range error. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_CHARS + 1];
    char *end;
    long double v;
    if (len == 0 || len >= MAX_CHARS) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    errno = 0;
    v = strtold(buf, &end);
    if (*end != '\0' || (size_t)(end - buf) != len || isnan(v)) return 0;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) return 0;
    *out = v;
    return 1;
}

/* cur + inc, formatted into out (capacity cap). Returns the length written,
 * -1 if either operand is not a valid float, -2 if the result is NaN or
 * infinite, -3 if the text does not fit. */
long ember_ld_add(const char *cur, size_t cur_len, const char *inc, size_t inc_len,
                  char *out, size_t cap) {
    long double a, b, r;
    int n;
    if (!parse_ld(cur, cur_len, &a) || !parse_ld(inc, inc_len, &b)) return -1;
    r = a + b;
    if (isnan(r) || isinf(r)) return -2;
    n = snprintf(out, cap, "%.17Lf", r);
    if (n < 0 || (size_t)n >= cap) return -3;
    if (strchr(out, '.') != NULL) {
        while (n > 0 && out[n - 1] == '0') n--;
        if (n > 0 && out[n - 1] == '.') n--;
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        n = 1;
    }
    return n;
}
