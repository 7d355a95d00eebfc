/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simplified E-model of quality.h. */
#include "quality.h"

double quality_r_factor(double d, double ppl, double ie, double bpl) {
        if (d < 0)
                d = 0;
        if (ppl < 0)
                ppl = 0;
        if (ppl > 100)
                ppl = 100;
        double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
        double ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
        double r = QUALITY_R_MAX - id - ie_eff;
        return r < 0 ? 0 : r;
}

double quality_mos_from_r(double r) {
        if (r <= 0)
                return 1.0;
        if (r >= 100)
                return 4.5;
        return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
}
