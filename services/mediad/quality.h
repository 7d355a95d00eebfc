/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Call quality estimate: the ITU-T G.107 E-model with every parameter at its
 * default except delay and packet loss, which gives R = 93.2 - Id - Ie,eff:
 *
 *   Id     = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)        (Cole & Rosenbluth's
 *            fit of G.107's delay impairment; d = one-way delay in ms, H = step)
 *   Ie,eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl)               (G.107 7.3, random loss,
 *            Ppl in percent; Ie and Bpl per codec from G.113 Appendix I)
 *   MOS    = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)       (G.107 Annex B),
 *            1 below R = 0, 4.5 above R = 100.
 *
 * Wideband codecs are rated on the narrowband scale as G.711 with PLC (Ie 0,
 * Bpl 25.1): conservative, and comparable with what Yealink shows.
 */

#define QUALITY_R_MAX 93.2

double quality_r_factor(double one_way_delay_ms, double loss_percent, double ie, double bpl);
double quality_mos_from_r(double r);
