"""`{% frame_part "<template>" %}`: a per-person part of the page frame (see flexpass.page_frame).

Renders the template with the current context, like `{% include %}`; while a
view renders a frame to cache, the parts it names come out as markers instead.
"""

from django import template

from flexpass.page_frame import HOLES_CONTEXT_KEY

register = template.Library()


@register.simple_tag(takes_context=True)
def frame_part(context, template_name: str) -> str:
    holes = context.get(HOLES_CONTEXT_KEY)
    if holes is not None and template_name in holes.names:
        return holes.marker(template_name)
    part = context.template.engine.get_template(template_name)
    with context.push():
        return part.render(context)
