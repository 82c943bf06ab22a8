from django import forms

from accounts.validators import PHONE_MAX_LENGTH, validate_phone

MAX_AVATAR_BYTES = 2 * 1024 * 1024


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False)
    phone = forms.CharField(
        required=False, max_length=PHONE_MAX_LENGTH, validators=[validate_phone]
    )
    avatar = forms.ImageField(required=False)

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if avatar and avatar.size > MAX_AVATAR_BYTES:
            raise forms.ValidationError("The picture must be at most 2 MB.")
        return avatar
