"""The plugin's own German catalogue, before the app's."""
import os

from tricoma_mail_plugin import plugin_translations

gettext, lazy_gettext = plugin_translations(os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations"))
