"""Parameter names and defaults of the original tasks (facts, for the migration tables).

Source: the originals' parameter files and function signatures (drizzlepac 3.11,
stwcs 1.7.7, fitsblender 0.4.4, drizzle 3.0), as summarised in the project's
reference notes. Each entry maps a task to an ordered list of
``(parameter, default)``; ``REQUIRED`` marks a positional argument without default.
"""

REQUIRED = "<required>"

ASTRODRIZZLE = [
    # top level
    ("input", "*flt.fits"), ("output", ""), ("runfile", "astrodrizzle.log"), ("wcskey", ""),
    ("proc_unit", "native"), ("coeffs", True), ("context", True), ("group", ""),
    ("build", False), ("crbit", 4096), ("stepsize", 10), ("resetbits", "4096"),
    ("num_cores", None), ("in_memory", False), ("rules_file", ""),
    ("mdriztab", False), ("editpars", False), ("configobj", None), ("wcsmap", None),
    # state of input files
    ("restore", False), ("preserve", True), ("overwrite", False), ("clean", False),
    # step 1
    ("static", True), ("static_sig", 4.0),
    # step 2
    ("skysub", True), ("skymethod", "localmin"), ("skystat", "median"), ("skywidth", 0.1),
    ("skylower", None), ("skyupper", None), ("skyclip", 5), ("skylsigma", 4.0),
    ("skyusigma", 4.0), ("skymask_cat", ""), ("use_static", True), ("sky_bits", "0"),
    ("skyfile", ""), ("skyuser", ""),
    # step 3 / 3a
    ("driz_separate", True), ("driz_sep_kernel", "turbo"), ("driz_sep_wt_scl", "exptime"),
    ("driz_sep_pixfrac", 1.0), ("driz_sep_fillval", None), ("driz_sep_bits", "0"),
    ("driz_sep_compress", False),
    ("driz_sep_wcs", False), ("driz_sep_refimage", ""), ("driz_sep_rot", None),
    ("driz_sep_scale", None), ("driz_sep_outnx", None), ("driz_sep_outny", None),
    ("driz_sep_ra", None), ("driz_sep_dec", None), ("driz_sep_crpix1", None),
    ("driz_sep_crpix2", None),
    # step 4
    ("median", True), ("median_newmasks", True), ("combine_maskpt", 0.3),
    ("combine_type", "minmed"), ("combine_nsigma", "4 3"), ("combine_nlow", 0),
    ("combine_nhigh", 0), ("combine_lthresh", None), ("combine_hthresh", None),
    ("combine_grow", 1), ("combine_bufsize", None),
    # step 5
    ("blot", True), ("blot_interp", "poly5"), ("blot_sinscl", 1.0), ("blot_addsky", True),
    ("blot_skyval", 0.0),
    # step 6
    ("driz_cr", True), ("driz_cr_corr", False), ("driz_cr_snr", "3.5 3.0"),
    ("driz_cr_grow", 1), ("driz_cr_ctegrow", 0), ("driz_cr_scale", "1.2 0.7"),
    # step 7 / 7a
    ("driz_combine", True), ("final_wht_type", "EXP"), ("final_kernel", "square"),
    ("final_wt_scl", "exptime"), ("final_pixfrac", 1.0), ("final_fillval", None),
    ("final_maskval", None), ("final_bits", "0"), ("final_units", "cps"),
    ("final_wcs", False), ("final_refimage", ""), ("final_rot", None), ("final_scale", None),
    ("final_outnx", None), ("final_outny", None), ("final_ra", None), ("final_dec", None),
    ("final_crpix1", None), ("final_crpix2", None),
    # instrument parameters
    ("gain", ""), ("gnkeyword", ""), ("rdnoise", ""), ("rnkeyword", ""), ("exptime", ""),
    ("expkeyword", ""),
]

TWEAKREG = [
    ("files", None), ("editpars", False), ("configobj", None), ("imagefindcfg", None),
    ("refimagefindcfg", None),
    ("input", "*flt.fits"), ("refimage", ""), ("expand_refcat", False),
    ("enforce_user_order", True), ("exclusions", ""), ("writecat", True), ("clean", False),
    ("interactive", True), ("verbose", False), ("runfile", "tweakreg.log"),
    ("updatehdr", False), ("wcsname", "TWEAK"), ("reusename", False),
    ("headerlet", False), ("attach", True), ("hdrfile", ""), ("clobber", False),
    ("hdrname", ""), ("author", ""), ("descrip", ""), ("catalog", ""), ("history", ""),
    ("shiftfile", False), ("outshifts", "shifts.txt"), ("outwcs", "shifts_wcs.fits"),
    ("catfile", ""), ("xcol", 1), ("ycol", 2), ("fluxcol", ""), ("maxflux", None),
    ("minflux", None), ("fluxunits", "counts"), ("xyunits", "pixels"), ("nbright", None),
    ("refcat", ""), ("refxcol", 1), ("refycol", 2), ("refxyunits", "degrees"),
    ("rfluxcol", ""), ("rmaxflux", None), ("rminflux", None), ("rfluxunits", "mag"),
    ("refnbright", None),
    ("minobj", 15), ("searchrad", 1.0), ("searchunits", "arcseconds"), ("use2dhist", True),
    ("see2dplot", True), ("separation", 0.5), ("tolerance", 1.0), ("xoffset", 0.0),
    ("yoffset", 0.0),
    ("fitgeometry", "rscale"), ("residplot", "both"), ("ylimit", None), ("labelsize", 8),
    ("nclip", 3), ("sigma", 3.0),
]

IMAGEFINDPARS = [
    ("computesig", True), ("skysigma", 0.0), ("conv_width", 3.5), ("peakmin", None),
    ("peakmax", None), ("threshold", 4.0), ("nsigma", 1.5), ("ratio", 1.0), ("theta", 0.0),
    ("fluxmin", None), ("fluxmax", None), ("dqbits", ""), ("use_sharp_round", False),
    ("sharplo", 0.2), ("sharphi", 1.0), ("roundlo", -1.0), ("roundhi", 1.0),
]

# module.function -> parameters (function signatures of drizzlepac 3.11 / stwcs 1.7.7 ...)
FUNCTIONS = {
    "pixtosky.xy2rd": [
        ("input", REQUIRED), ("x", None), ("y", None), ("coords", None), ("coordfile", None),
        ("colnames", None), ("separator", None), ("hms", True), ("precision", 6),
        ("output", None), ("verbose", True)],
    "skytopix.rd2xy": [
        ("input", REQUIRED), ("ra", None), ("dec", None), ("coordfile", None),
        ("colnames", None), ("precision", 6), ("output", None), ("verbose", True)],
    "pixtopix.tran": [
        ("inimage", REQUIRED), ("outimage", REQUIRED), ("direction", "forward"), ("x", None),
        ("y", None), ("coordfile", None), ("colnames", None), ("separator", None),
        ("precision", 6), ("output", None), ("verbose", True)],
    "tweakback.tweakback": [
        ("drzfile", REQUIRED), ("input", None), ("origwcs", None), ("newname", None),
        ("wcsname", None), ("extname", "SCI"), ("force", False), ("verbose", False)],
    "resetbits.reset_dq_bits": [
        ("input", REQUIRED), ("bits", REQUIRED), ("extver", None), ("extname", "dq")],
    "photeq.photeq": [
        ("files", "*_flt.fits"), ("sciext", "SCI"), ("errext", "ERR"), ("ref_phot", None),
        ("ref_phot_ext", None), ("phot_kwd", "PHOTFLAM"), ("aux_phot_kwd", "PHOTFNU"),
        ("search_primary", True), ("readonly", True), ("clobber", False),
        ("logfile", "photeq.log")],
    "mapreg.MapReg": [
        ("input_reg", REQUIRED), ("images", REQUIRED), ("img_wcs_ext", "sci"), ("refimg", ""),
        ("ref_wcs_ext", "sci"), ("chip_reg", ""), ("outpath", "./regions"), ("filter", ""),
        ("catfname", ""), ("iteractive", False), ("append", False), ("verbose", True)],
    "updatenpol.update": [
        ("input", REQUIRED), ("refdir", "jref$"), ("local", None), ("interactive", False),
        ("wcsupdate", True)],
    "stwcs.updatewcs.updatewcs": [
        ("input", REQUIRED), ("vacorr", True), ("tddcorr", True), ("npolcorr", True),
        ("d2imcorr", True), ("checkfiles", True), ("verbose", False), ("use_db", True),
        ("all_wcs", False), ("remove_duplicates", True)],
    "fitsblender.blendheaders.blendheaders": [
        ("drzfile", REQUIRED), ("inputs", None), ("output", None),
        ("extensions", {"SCI": "SCI", "ERR": "WHT", "DQ": "CON"}), ("sciext", "SCI"),
        ("errext", "ERR"), ("dqext", "DQ"), ("rules_file", None), ("verbose", False)],
    "fitsblender.blendheaders.get_blended_headers": [
        ("inputs", REQUIRED), ("verbose", False), ("extlist", ["SCI", "ERR", "DQ"]),
        ("rules_file", None)],
    "drizzle.resample.Drizzle": [
        ("kernel", "square"), ("fillval", None), ("fillval2", None), ("out_shape", None),
        ("out_img", None), ("out_wht", None), ("out_ctx", None), ("out_img2", None),
        ("out_dq", None), ("exptime", 0.0), ("begin_ctx_id", 0), ("max_ctx_id", None),
        ("disable_ctx", False)],
}

# Where each original lives in drizzlepac-ng (module path, attribute).
OURS = {
    "pixtosky.xy2rd": ("drizzlepac_ng.pixtosky", "xy2rd"),
    "skytopix.rd2xy": ("drizzlepac_ng.skytopix", "rd2xy"),
    "pixtopix.tran": ("drizzlepac_ng.pixtopix", "tran"),
    "tweakback.tweakback": ("drizzlepac_ng.tweakback", "tweakback"),
    "resetbits.reset_dq_bits": ("drizzlepac_ng.resetbits", "reset_dq_bits"),
    "photeq.photeq": ("drizzlepac_ng.photeq", "photeq"),
    "mapreg.MapReg": ("drizzlepac_ng.mapreg", "MapReg"),
    "updatenpol.update": ("drizzlepac_ng.updatenpol", "update"),
    "stwcs.updatewcs.updatewcs": ("stwcs_ng.updatewcs", "updatewcs"),
    "fitsblender.blendheaders.blendheaders": ("fitsblender_ng.blendheaders", "blendheaders"),
    "fitsblender.blendheaders.get_blended_headers": ("fitsblender_ng.blendheaders",
                                                     "get_blended_headers"),
    "drizzle.resample.Drizzle": ("drizzlepac_ng.resample", "Drizzle"),
}
