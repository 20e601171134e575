/* Which field multiplication the library runs, chosen once when it loads: the mulx/adcx/adox
 * assembly in bn254.h on CPUs that have BMI2 and ADX (cpuid leaf 7), else the portable C.
 * ZKMARGIN_NATIVE_ARITH=portable forces the portable path for a whole process; zkm_arith
 * switches between them at run time (tests prove and verify with both). */
#include <stdlib.h>
#include <string.h>

#include "bn254.h"

#ifdef ZKM_ADX_ASM
#include <cpuid.h>
#endif

int zkm_adx;

static int cpu_has_adx(void) {
#ifdef ZKM_ADX_ASM
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 8 & 1) && (b >> 19 & 1);  /* BMI2, ADX */
#else
    return 0;
#endif
}

__attribute__((constructor)) static void choose_arith(void) {
    const char *force = getenv("ZKMARGIN_NATIVE_ARITH");
    zkm_adx = cpu_has_adx() && !(force && !strcmp(force, "portable"));
}

/* want: 0 portable, 1 mulx/adx (only where the CPU has them), -1 leave as is.
 * Returns the path now in use (0 or 1). Not for use while another thread computes. */
int zkm_arith(int want) {
    if (want == 0) zkm_adx = 0;
    if (want == 1) zkm_adx = cpu_has_adx();
    return zkm_adx;
}
