"""The plugin's own German catalogue, looked up before the app's (core's plugin_translations)."""
import os

from tricoma_mail_plugin import plugin_translations

TRANSLATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations")

gettext, lazy_gettext = plugin_translations(TRANSLATIONS)
_ = gettext
_l = lazy_gettext
